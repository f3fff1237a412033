using k8s;
using k8s.Exceptions;
using k8s.KubeConfigModels;

namespace IpvsOperator.Runtime.Hosting;

/// <summary>
/// Which cluster a command-line tool talks to, chosen as kubectl chooses it: <c>--kubeconfig FILE</c>,
/// else <c>$KUBECONFIG</c> (a colon-separated list of files, merged, the first naming a context
/// winning), else <c>~/.kube/config</c>, else the pod's ServiceAccount; <c>--context</c> selects
/// within the files. A tool that writes must never fall back to another file than the user's: two
/// kubeadm clusters both name their context <c>kubernetes-admin@kubernetes</c>. Every failure is a
/// <see cref="KubeConfigException"/> whose message names the file or context at fault.
/// </summary>
public static class KubeconfigSelection
{
    /// <summary>The selection from the process's environment (<c>$KUBECONFIG</c>, <c>$HOME</c>).</summary>
    public static KubernetesClientConfiguration Resolve(string? kubeconfig, string? context) =>
        Resolve(kubeconfig, context, Environment.GetEnvironmentVariable("KUBECONFIG"),
            Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), KubernetesClientConfiguration.IsInCluster());

    public static KubernetesClientConfiguration Resolve(string? kubeconfig, string? context, string? kubeconfigVariable, string? home, bool inCluster)
    {
        if (!string.IsNullOrEmpty(kubeconfig))
        {
            return Load([Existing(kubeconfig, "--kubeconfig")], context);
        }
        if (!string.IsNullOrEmpty(kubeconfigVariable))
        {
            // As kubectl: files of the list that do not exist are skipped, but not all of them.
            var files = kubeconfigVariable.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Where(File.Exists).Distinct(StringComparer.Ordinal).ToList();
            return files.Count > 0
                ? Load([.. files.Select(f => new FileInfo(f))], context)
                : throw new KubeConfigException($"$KUBECONFIG names no file that exists ({kubeconfigVariable})");
        }
        var homeConfig = Path.Combine(home ?? string.Empty, ".kube", "config");
        if (!string.IsNullOrEmpty(home) && File.Exists(homeConfig))
        {
            return Load([new FileInfo(homeConfig)], context);
        }
        if (inCluster && context is null)
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }
        throw new KubeConfigException(context is null
            ? $"no kubeconfig: give --kubeconfig, set $KUBECONFIG, or create {homeConfig}"
            : $"context '{context}' asked for, but there is no kubeconfig: give --kubeconfig, set $KUBECONFIG, or create {homeConfig}");
    }

    private static FileInfo Existing(string path, string from) =>
        File.Exists(path) ? new FileInfo(path) : throw new KubeConfigException($"kubeconfig {path} (from {from}) does not exist");

    private static KubernetesClientConfiguration Load(FileInfo[] files, string? context)
    {
        var named = string.Join(", ", files.Select(f => f.FullName));
        var loaded = new List<K8SConfiguration>();
        foreach (var file in files)
        {
            try
            {
                loaded.Add(KubernetesClientConfiguration.LoadKubeConfig(file));
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException or YamlDotNet.Core.YamlException or FormatException)
            {
                throw new KubeConfigException($"kubeconfig {file.FullName} cannot be read: {error.Message}");
            }
        }
        var merged = Merge(loaded);
        var chosen = context ?? merged.CurrentContext;
        if (string.IsNullOrEmpty(chosen))
        {
            throw new KubeConfigException($"kubeconfig {named} has no current context: give --context");
        }
        var contexts = (merged.Contexts ?? []).Select(c => c.Name).ToList();
        if (!contexts.Contains(chosen, StringComparer.Ordinal))
        {
            throw new KubeConfigException($"context '{chosen}' is not in kubeconfig {named} (its contexts: {(contexts.Count == 0 ? "none" : string.Join(", ", contexts))})");
        }
        // Relative certificate paths are read beside the file that names the context.
        merged.FileName = loaded.First(c => (c.Contexts ?? []).Any(x => x.Name == chosen)).FileName;
        return KubernetesClientConfiguration.BuildConfigFromConfigObject(merged, chosen);
    }

    /// <summary>Several kubeconfigs as one, as kubectl merges them: the first file to name a context, cluster or user, or to set the current context, wins.</summary>
    private static K8SConfiguration Merge(List<K8SConfiguration> configs)
    {
        if (configs.Count == 1)
        {
            return configs[0];
        }
        static List<T> FirstOfEach<T>(IEnumerable<T> items, Func<T, string> name) => [.. items.GroupBy(name, StringComparer.Ordinal).Select(g => g.First())];
        return new K8SConfiguration
        {
            ApiVersion = "v1",
            Kind = "Config",
            CurrentContext = configs.Select(c => c.CurrentContext).FirstOrDefault(c => !string.IsNullOrEmpty(c)),
            Contexts = FirstOfEach(configs.SelectMany(c => c.Contexts ?? []), c => c.Name),
            Clusters = FirstOfEach(configs.SelectMany(c => c.Clusters ?? []), c => c.Name),
            Users = FirstOfEach(configs.SelectMany(c => c.Users ?? []), u => u.Name),
            FileName = configs[0].FileName,
        };
    }
}
