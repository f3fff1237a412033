using System.CommandLine;
using IpvsOperator.Entities;
using IpvsOperator.Inspection;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Runtime.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace IpvsOperator.Commands;

/// <summary>
/// <c>ipvs-operator inspect status|why svc/NAME</c> and <c>inspect pools</c>, which
/// <c>make kubectl-plugin</c> installs as <c>kubectl ipvs</c>. Reads only: Services, Events,
/// IPPools, IPAllocations and IPVSNodes (get and list), the rights of the <c>view</c> role plus read
/// access to our kinds (<c>config/rbac</c>'s <c>ipvs-operator-viewer</c>).
/// </summary>
public static class InspectCommand
{
    /// <summary>The Service does not exist or the argument names no Service.</summary>
    public const int NoSuchService = 2;

    /// <summary>The API refused a read (rights, connection): the message names the call.</summary>
    public const int ApiRefused = 3;

    public static Command Create()
    {
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "Kubeconfig to use; default: $KUBECONFIG (files separated by ':'), then ~/.kube/config, then in-cluster." };
        // kubectl does not hand its own --context to a plugin, so the plugin takes one of its own.
        var context = new Option<string?>("--context") { Description = "The context of the kubeconfig to use; default: its current context." };
        var ns = new Option<string?>("--namespace", "-n") { Description = "The Service's namespace; default: the kubeconfig context's, else default." };
        var service = new Argument<string>("service") { Description = "The Service: svc/NAME, service/NAME or NAME." };

        var status = new Command("status", "A Service's addresses, their pool and claim, the nodes that serve each and how they announce it, its conditions and Events.") { service, ns, kubeconfig, context };
        status.SetAction((result, token) => RunAsync(new Connection(result.GetValue(kubeconfig), result.GetValue(context)), result.GetValue(ns), result.GetValue(service), Console.Out, Console.Error,
            (svc, view) => ServiceStatusReport.Render(svc, view, DateTime.UtcNow), token));
        var why = new Command("why", "In one paragraph: why a Service is <pending>, or why no node serves its address.") { service, ns, kubeconfig, context };
        why.SetAction((result, token) => RunAsync(new Connection(result.GetValue(kubeconfig), result.GetValue(context)), result.GetValue(ns), result.GetValue(service), Console.Out, Console.Error,
            (svc, view) => ServiceExplanation.Explain(svc, view, DateTime.UtcNow) + Environment.NewLine, token));
        var pools = new Command("pools", "Each IPPool's addresses in use, its claims and how it is announced.") { kubeconfig, context };
        pools.SetAction((result, token) => PoolsAsync(new Connection(result.GetValue(kubeconfig), result.GetValue(context)), Console.Out, Console.Error, token));
        return new Command("inspect", "What the API says of a Service's VIP or of the pools (kubectl ipvs).") { status, why, pools };
    }

    /// <summary>The verb's work with its streams given, so that tests run it as the command line does.</summary>
    internal static async Task<int> RunAsync(Connection connection, string? ns, string? serviceArgument, TextWriter stdout, TextWriter stderr,
        Func<V1Service, ClusterView, string> render, CancellationToken cancellationToken)
    {
        if (ServiceName(serviceArgument) is not { } name)
        {
            await stderr.WriteLineAsync($"error: '{serviceArgument}' names no Service: give svc/NAME, service/NAME or NAME");
            return NoSuchService;
        }
        try
        {
            var (kubernetes, contextNamespace) = Connect(connection);
            ns ??= contextNamespace ?? "default";
            V1Service service;
            try
            {
                service = await kubernetes.CoreV1.ReadNamespacedServiceAsync(name, ns, cancellationToken: cancellationToken);
            }
            catch (HttpOperationException error) when (error.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                await stderr.WriteLineAsync($"error: Service {ns}/{name} not found");
                return NoSuchService;
            }
            var events = await kubernetes.CoreV1.ListNamespacedEventAsync(ns, cancellationToken: cancellationToken);
            var view = await ReadAsync(kubernetes, events.Items
                .Where(e => e.InvolvedObject?.Kind == "Service" && (e.InvolvedObject.Uid == service.Metadata.Uid || (e.InvolvedObject.Uid is null && e.InvolvedObject.Name == name)))
                .OrderBy(e => e.LastTimestamp ?? e.EventTime ?? e.FirstTimestamp ?? e.Metadata?.CreationTimestamp).ToList(), cancellationToken);
            await stdout.WriteAsync(TerminalText.Printable(render(PrintableValues.Of(service), view.Printable())));
            return 0;
        }
        catch (Exception error) when (error is HttpOperationException or HttpRequestException or k8s.Exceptions.KubeConfigException or ApiStatusException)
        {
            await stderr.WriteLineAsync($"error: reading the API: {Describe(error)}");
            return ApiRefused;
        }
    }

    internal static async Task<int> PoolsAsync(Connection connection, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        try
        {
            var (kubernetes, _) = Connect(connection);
            await stdout.WriteAsync(TerminalText.Printable(PoolUsageReport.Render((await ReadAsync(kubernetes, [], cancellationToken)).Printable())));
            return 0;
        }
        catch (Exception error) when (error is HttpOperationException or HttpRequestException or k8s.Exceptions.KubeConfigException or ApiStatusException)
        {
            await stderr.WriteLineAsync($"error: reading the API: {Describe(error)}");
            return ApiRefused;
        }
    }

    private static async Task<ClusterView> ReadAsync(IKubernetes kubernetes, IReadOnlyList<Corev1Event> events, CancellationToken cancellationToken) =>
        new(
            (await new EntityClient<V1Alpha1IPPool>(kubernetes).ListAllAsync(cancellationToken: cancellationToken)).Items,
            (await new EntityClient<V1Alpha1IPAllocation>(kubernetes).ListAllAsync(cancellationToken: cancellationToken)).Items,
            (await new EntityClient<V1Alpha1IPVSNode>(kubernetes).ListAllAsync(cancellationToken: cancellationToken)).Items,
            events);

    private static (IKubernetes Kubernetes, string? Namespace) Connect(Connection connection)
    {
        var configuration = KubeconfigSelection.Resolve(connection.Kubeconfig, connection.Context);
        return (KubernetesConnection.Connect(configuration, null, "kubectl-ipvs"), configuration.Namespace);
    }

    /// <summary>The plugin's <c>--kubeconfig</c> and <c>--context</c>, resolved as kubectl resolves them (<see cref="KubeconfigSelection"/>).</summary>
    internal sealed record Connection(string? Kubeconfig, string? Context);

    /// <summary>NAME from <c>svc/NAME</c>, <c>service/NAME</c>, <c>services/NAME</c> or <c>NAME</c>; null for anything else.</summary>
    internal static string? ServiceName(string? argument)
    {
        var parts = (argument ?? string.Empty).Split('/');
        var name = parts switch
        {
            [var only] => only,
            ["svc" or "service" or "services", var named] => named,
            _ => null,
        };
        return name is { Length: > 0 and <= 63 } && name.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-') ? name : null;
    }

    private static string Describe(Exception error) => error switch
    {
        HttpOperationException http => $"{(int)http.Response.StatusCode} {http.Response.ReasonPhrase} for {http.Request?.Method} {http.Request?.RequestUri?.PathAndQuery}",
        _ => error.Message,
    };
}
