using System.CommandLine;
using IpvsOperator.Entities;
using IpvsOperator.Migration;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Hosting;
using k8s;
using k8s.Models;

namespace IpvsOperator.Commands;

/// <summary>
/// <c>ipvs-operator migrate metallb [-f FILE_OR_DIR ...] [--apply] [--out DIR] [--accept-changes]</c>:
/// MetalLB's configuration, from YAML files or from the cluster, as IPPools and BGPPeers, with a
/// report on stderr of every field that has no exact equivalent; read from a cluster, also the
/// claims of the addresses its Services hold, so that none is renumbered. Nothing is written when
/// something would behave differently (unless accepted) or when the cluster would refuse an object.
/// </summary>
public static class MigrateCommand
{
    /// <summary>A file or document that is not Kubernetes objects: the message names it.</summary>
    public const int UnreadableInput = 2;

    /// <summary>Some field would behave differently after the switch, and --accept-changes was not given.</summary>
    public const int BehaviourChanges = 3;

    /// <summary>A translated object would be refused by the webhooks: the message says which and why.</summary>
    public const int RefusedObject = 4;

    /// <summary>--apply found objects of ours with other content and left them (each named in the report).</summary>
    public const int NotOverwritten = 5;

    /// <summary>The cluster could not be read or written: the message says what failed.</summary>
    public const int ClusterFailed = 6;

    public static Command Create()
    {
        var files = new Option<string[]>("--filename", "-f")
        {
            Description = "A MetalLB YAML file, or a folder of them (*.yaml, *.yml, *.json, read recursively); repeat for more. Give every MetalLB file at once: advertisements, BFD profiles and communities refer to other objects. Without it, MetalLB's objects are read from the cluster.",
            AllowMultipleArgumentsPerToken = false,
        };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Write one file per object into this folder instead of all of them to stdout." };
        var accept = new Option<bool>("--accept-changes") { Description = "Write the objects even when the report lists changes of behaviour." };
        var apply = new Option<bool>("--apply") { Description = "Create the objects in the cluster (IPPools, BGPPeers, Secrets and the claims of the Services' addresses) instead of writing them; a second run changes nothing." };
        var overwrite = new Option<bool>("--overwrite") { Description = "With --apply, replace an IPPool, BGPPeer or Secret that exists with other content (a claim held by another Service is never replaced)." };
        var metallbNamespace = new Option<string>("--metallb-namespace") { Description = "The namespace of MetalLB's objects in the cluster.", DefaultValueFactory = _ => "metallb-system" };
        var metallbClass = new Option<string?>("--metallb-class") { Description = "MetalLB's loadBalancerClass, if its controller runs with --lb-class: Services of that class are reported (a class cannot be changed)." };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "Kubeconfig to use; default: $KUBECONFIG (files separated by ':'), then ~/.kube/config, then in-cluster." };
        var context = new Option<string?>("--context") { Description = "The context of the kubeconfig to use; default: its current context. An unknown context is an error, never another cluster." };
        var metallb = new Command("metallb", "Translate MetalLB's IPAddressPools, advertisements, BGPPeers, BFDProfiles and Communities into IPPools and BGPPeers, and claim its Services' addresses.")
        {
            files, output, accept, apply, overwrite, metallbNamespace, metallbClass, kubeconfig, context,
        };
        metallb.SetAction((parseResult, cancellationToken) => RunAsync(new MigrationOptions
        {
            Paths = parseResult.GetValue(files) ?? [],
            Output = parseResult.GetValue(output),
            AcceptChanges = parseResult.GetValue(accept),
            Apply = parseResult.GetValue(apply),
            Overwrite = parseResult.GetValue(overwrite),
            MetalLBNamespace = parseResult.GetValue(metallbNamespace)!,
            MetalLBClass = parseResult.GetValue(metallbClass),
            Kubeconfig = parseResult.GetValue(kubeconfig),
            Context = parseResult.GetValue(context),
        }, Console.Out, Console.Error, cancellationToken));
        return new Command("migrate", "Translate another load balancer's configuration into IpvsOperator's objects.") { metallb };
    }

    /// <summary>The verb's work on files alone, with its streams given.</summary>
    public static int Run(IReadOnlyList<string> paths, DirectoryInfo? output, bool acceptChanges, TextWriter stdout, TextWriter stderr) =>
        RunAsync(new MigrationOptions { Paths = paths, Output = output, AcceptChanges = acceptChanges }, stdout, stderr, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>The verb's work with its streams given, so that tests run it as the command line does.</summary>
    public static async Task<int> RunAsync(MigrationOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        stdout = new PrintableWriter(stdout);
        stderr = new PrintableWriter(stderr);
        if (options.Overwrite && !options.Apply)
        {
            stderr.WriteLine("error: --overwrite replaces objects in the cluster, so it goes with --apply");
            return UnreadableInput;
        }
        Kubernetes? kubernetes;
        try
        {
            kubernetes = options.UsesCluster ? Connect(options) : null;
        }
        catch (k8s.Exceptions.KubeConfigException error)
        {
            stderr.WriteLine($"error: no cluster to read: {error.Message}");
            return ClusterFailed;
        }
        using var connection = kubernetes;
        try
        {
            return await MigrateAsync(options, kubernetes, stdout, stderr, cancellationToken);
        }
        catch (MetalLBInputException error)
        {
            stderr.WriteLine($"error: {error.Message}");
            return UnreadableInput;
        }
        catch (Exception error) when (error is ApiStatusException or k8s.Autorest.HttpOperationException or HttpRequestException or k8s.Exceptions.KubeConfigException)
        {
            stderr.WriteLine($"error: the cluster{(kubernetes is null ? string.Empty : $" at {kubernetes.BaseUri}")} could not be read or written: {error.Message}");
            return ClusterFailed;
        }
    }

    private static async Task<int> MigrateAsync(MigrationOptions options, Kubernetes? kubernetes, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var cluster = kubernetes is null ? null : new MetalLBClusterReader(kubernetes, options.MetalLBNamespace);
        var objects = options.Paths.Count > 0 ? MigrationInput.Read(options.Paths) : await cluster!.ObjectsAsync(cancellationToken);
        if (!objects.Any(o => o.IsMetalLB))
        {
            var from = options.Paths.Count > 0 ? string.Join(", ", options.Paths) : $"namespace {options.MetalLBNamespace} of the cluster";
            stderr.WriteLine($"error: no MetalLB object (apiVersion metallb.io/...) in {from}");
            return UnreadableInput;
        }
        var result = MetalLBTranslator.Translate(objects);
        if (cluster is not null)
        {
            await CopyPasswordSecretsAsync(cluster, objects, result, options.MetalLBNamespace, options.Apply, cancellationToken);
            ServiceClaims.Add(result, await cluster.LoadBalancersAsync(cancellationToken), options.MetalLBClass, await cluster.ClaimsAsync(cancellationToken));
        }

        MigrationReport.Write(result, stderr);
        var refusals = MigratedObjectsCheck.Refusals(result);
        if (refusals.Count > 0)
        {
            foreach (var refusal in refusals)
            {
                stderr.WriteLine($"refused: {refusal}");
            }
            stderr.WriteLine($"nothing written: {refusals.Count} object(s) would be refused by IpvsOperator's webhooks; fix the MetalLB objects named above");
            return RefusedObject;
        }
        if (result.ChangesBehaviour && !options.AcceptChanges)
        {
            stderr.WriteLine($"nothing written: {result.Findings.Count(f => f.Kind == FindingKind.Change)} change(s) of behaviour above; run again with --accept-changes to write the objects anyway");
            return BehaviourChanges;
        }
        if (!options.Apply)
        {
            MigrationOutput.Write(result, options.Output, stdout);
            return 0;
        }
        var apply = new MigrationApply(ApiConnection.Of(kubernetes!), options.Overwrite, stdout);
        await apply.ApplyAsync(result, cancellationToken);
        stdout.WriteLine(apply.Summary);
        return apply.Kept > 0 ? NotOverwritten : 0;
    }

    /// <summary>
    /// The Secrets MetalLB's BGPPeers name, copied where the node agents read them
    /// (<see cref="WellKnown.NodeNamespace"/>, key <c>password</c>), as the translation's action asks:
    /// by --apply only, since the YAML output never holds a Secret.
    /// </summary>
    private static async Task CopyPasswordSecretsAsync(MetalLBClusterReader cluster, IReadOnlyList<MetalLBObject> objects, MigrationResult result, string metallbNamespace,
        bool apply, CancellationToken cancellationToken)
    {
        foreach (var peer in objects.Where(o => o.IsMetalLB && o.Kind == "BGPPeer"))
        {
            if (peer.Spec["passwordSecret"] is not System.Text.Json.Nodes.JsonObject reference || reference["name"]?.GetValueKind() != System.Text.Json.JsonValueKind.String)
            {
                continue;
            }
            var name = reference["name"]!.GetValue<string>();
            var ns = reference["namespace"]?.GetValueKind() == System.Text.Json.JsonValueKind.String ? reference["namespace"]!.GetValue<string>() : peer.Namespace ?? metallbNamespace;
            if (result.Secrets.Any(s => s.Metadata.Name == name))
            {
                continue; // two peers naming one Secret: copied once
            }
            var secret = await cluster.SecretAsync(ns, name, cancellationToken);
            if (secret?.Data?.TryGetValue("password", out var password) != true)
            {
                result.Findings.Add(new Finding(FindingKind.Action, peer.Where, "spec.passwordSecret",
                    $"Secret {ns}/{name} {(secret is null ? "does not exist" : "has no key 'password'")}, so there is nothing to copy: create Secret {WellKnown.NodeNamespace}/{name} with key 'password' before the switch"));
                continue;
            }
            result.Secrets.Add(new V1Secret
            {
                ApiVersion = "v1",
                Kind = "Secret",
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = WellKnown.NodeNamespace },
                Type = "Opaque",
                Data = new Dictionary<string, byte[]> { ["password"] = password! },
            });
            result.Sources[$"Secret/{name}"] = peer.Where;
            if (!apply)
            {
                // Read for the webhooks' check only: the YAML output holds no Secret, so the translation's action to copy it stands.
                continue;
            }
            // Done here, so the translation's action to copy it would mislead.
            result.Findings.RemoveAll(f => f.Kind == FindingKind.Action && f.Where == peer.Where && f.Field == "spec.passwordSecret");
            result.Findings.Add(new Finding(FindingKind.Note, peer.Where, "spec.passwordSecret", $"Secret {ns}/{name} is copied to {WellKnown.NodeNamespace}/{name} (key 'password'), where the node agents read it"));
        }
    }

    private static Kubernetes Connect(MigrationOptions options)
    {
        var configuration = options.Connection ?? KubeconfigSelection.Resolve(options.Kubeconfig, options.Context);
        return (Kubernetes)KubernetesConnection.Connect(configuration, null, "ipvs-operator-migrate");
    }
}
