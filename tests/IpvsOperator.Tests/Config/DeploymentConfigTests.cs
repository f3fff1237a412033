using System.Net;
using IpvsOperator.Commands;
using IpvsOperator.Entities;
using IpvsOperator.LocalCluster;
using IpvsOperator.Node;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Generation;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Runtime.Webhooks;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Config;

/// <summary>
/// What <c>kubectl apply -k config/default</c> installs, rendered by the real kubectl: the objects,
/// their namespaces and security settings, and RBAC held to what each component really does: each
/// runs a scenario as its ServiceAccount against LocalCluster with the rendered roles installed and
/// enforced, so a missing permission fails as on a cluster, and an unused one is noticed.
/// </summary>
public class DeploymentConfigTests
{
    private const string ControllerNamespace = WellKnown.OperatorNamespace;
    private const string NodeNamespace = WellKnown.NodeNamespace;
    private static List<IKubernetesObject> rendered = null!;

    [OneTimeSetUp]
    public static async Task RenderAsync()
    {
        var result = await Processes.RunAsync("kubectl", ["kustomize", Path.Combine(RepositoryRoot.Path, "config", "default")]);
        result.ExitCode.Should().Be(0, result.Error);
        rendered = [.. KubernetesYaml.LoadAllFromString(result.Output).OfType<IKubernetesObject>()];
    }

    private static T Single<T>(string name)
        where T : IKubernetesObject<V1ObjectMeta> => rendered.OfType<T>().Single(o => o.Metadata.Name == name);

    private static T Single<T>(string name, string ns)
        where T : IKubernetesObject<V1ObjectMeta> => rendered.OfType<T>().Single(o => o.Metadata.Name == name && o.Metadata.NamespaceProperty == ns);

    /// <summary>kubectl ipvs works with the view role: our kinds join it, for reading only.</summary>
    [Test]
    public void The_view_role_gains_reading_our_kinds_and_nothing_else()
    {
        var viewer = rendered.OfType<V1ClusterRole>().Single(r => r.Metadata.Name == "ipvs-operator-viewer");
        viewer.Metadata.Labels.Should().Contain("rbac.authorization.k8s.io/aggregate-to-view", "true");
        viewer.Rules.SelectMany(r => r.Verbs).Distinct().Should().BeEquivalentTo("get", "list", "watch");
        viewer.Rules.SelectMany(r => r.Resources).Should().BeEquivalentTo("ippools", "ipallocations", "ipvsnodes", "bgppeers");
        viewer.Rules.SelectMany(r => r.ApiGroups).Distinct().Should().Equal("ipvsoperator.io");
    }

    [Test]
    public void Config_default_renders_the_controller_and_the_node_agents_each_in_a_namespace_of_its_own()
    {
        rendered.Select(o => $"{o.Kind}/{((IKubernetesObject<V1ObjectMeta>)o).Metadata.NamespaceProperty}/{((IKubernetesObject<V1ObjectMeta>)o).Metadata.Name}").Should().BeEquivalentTo(
            "Namespace//ipvs-operator-system", "Namespace//ipvs-operator-node",
            "CustomResourceDefinition//ippools.ipvsoperator.io", "CustomResourceDefinition//ipallocations.ipvsoperator.io", "CustomResourceDefinition//ipvsnodes.ipvsoperator.io",
            "CustomResourceDefinition//bgppeers.ipvsoperator.io",
            "ClusterRole//ipvs-operator-controller", "ClusterRole//ipvs-operator-node", "ClusterRole//ipvs-operator-viewer",
            "ClusterRoleBinding//ipvs-operator-controller", "ClusterRoleBinding//ipvs-operator-node",
            "ValidatingWebhookConfiguration//ipvs-operator-validating-webhook",
            "ValidatingAdmissionPolicy//ipvs-operator-node-writes", "ValidatingAdmissionPolicyBinding//ipvs-operator-node-writes",
            "ServiceAccount/ipvs-operator-system/ipvs-operator-controller", "Role/ipvs-operator-system/ipvs-operator-controller",
            "RoleBinding/ipvs-operator-system/ipvs-operator-controller", "Service/ipvs-operator-system/ipvs-operator-webhook-service",
            "Deployment/ipvs-operator-system/ipvs-operator-controller", "NetworkPolicy/ipvs-operator-system/ipvs-operator-controller",
            "ServiceAccount/ipvs-operator-node/ipvs-operator-node", "Role/ipvs-operator-node/ipvs-operator-node",
            "RoleBinding/ipvs-operator-node/ipvs-operator-node", "DaemonSet/ipvs-operator-node/ipvs-operator-node");
        foreach (var binding in rendered.OfType<V1ClusterRoleBinding>())
        {
            binding.Subjects.Should().ContainSingle().Which.NamespaceProperty.Should().Be(binding.Metadata.Name.EndsWith("-node", StringComparison.Ordinal) ? NodeNamespace : ControllerNamespace);
        }
        rendered.OfType<V1RoleBinding>().Should().OnlyContain(b => b.Subjects.Single().NamespaceProperty == b.Metadata.NamespaceProperty);
        Single<V1ValidatingWebhookConfiguration>("ipvs-operator-validating-webhook").Webhooks
            .Should().OnlyContain(w => w.ClientConfig.Service.NamespaceProperty == ControllerNamespace && w.ClientConfig.Service.Name == "ipvs-operator-webhook-service");
    }

    [Test]
    public async Task The_BGP_component_adds_FRR_beside_each_agent_with_the_same_image_shared_volumes_and_only_the_capabilities_FRR_uses()
    {
        // config/default with the component, as the docs tell users to write it.
        var overlay = Directory.CreateTempSubdirectory("bgp-overlay-");
        // kustomize takes only relative paths.
        var config = Path.GetRelativePath(overlay.FullName, Path.Combine(RepositoryRoot.Path, "config"));
        var defaults = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "config", "default", "kustomization.yaml"));
        await File.WriteAllTextAsync(Path.Combine(overlay.FullName, "kustomization.yaml"),
            defaults.Replace("  - ../", $"  - {config}/", StringComparison.Ordinal) + $"components:\n  - {config}/bgp\n");
        var result = await Processes.RunAsync("kubectl", ["kustomize", overlay.FullName]);
        result.ExitCode.Should().Be(0, result.Error);
        var pod = KubernetesYaml.LoadAllFromString(result.Output).OfType<V1DaemonSet>().Single().Spec.Template.Spec;

        var agent = pod.Containers.Single(c => c.Name == "node");
        var frr = pod.Containers.Single(c => c.Name == "frr");
        agent.Env.Single(e => e.Name == "ANNOUNCE").Value.Should().Be("l2,bgp");
        agent.Args.Should().Contain("--announce=$(ANNOUNCE)");
        frr.Image.Should().Be(agent.Image, "one image, rewritten by the same images entry");
        frr.Command.Should().Equal("/app/frr-sidecar.sh");
        frr.SecurityContext.Privileged.Should().BeFalse();
        frr.SecurityContext.Capabilities.Drop.Should().Equal("ALL");
        // The identities FrrSidecarRestartTests run FRR and the agent's tools with: what they prove is what is deployed.
        frr.SecurityContext.Capabilities.Add.Should().BeEquivalentTo(ContainerIdentity.FrrSidecar.Capabilities);
        agent.SecurityContext.Capabilities.Add.Should().BeEquivalentTo(ContainerIdentity.NodeAgent.Capabilities);
        foreach (var container in new[] { frr, agent })
        {
            container.SecurityContext.RunAsUser.Should().Be(ContainerIdentity.FrrSidecar.User).And.Be(ContainerIdentity.NodeAgent.User);
            container.SecurityContext.AllowPrivilegeEscalation.Should().BeFalse("the tests run them with no_new_privs");
        }
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "Dockerfile"));
        foreach (var group in ContainerIdentity.FrrSidecar.ImageGroups.Union(ContainerIdentity.NodeAgent.ImageGroups))
        {
            dockerfile.Should().Contain($"usermod -a -G {group} root", "the image gives root the groups the tests run it with");
        }
        foreach (var path in new[] { "/etc/frr", "/var/run/frr" })
        {
            var volume = agent.VolumeMounts.Single(m => m.MountPath == path).Name;
            frr.VolumeMounts.Single(m => m.MountPath == path).Name.Should().Be(volume);
            pod.Volumes.Single(v => v.Name == volume).EmptyDir.Should().NotBeNull("shared by the pod's two containers only");
        }
        overlay.Delete(recursive: true);
        (await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "Dockerfile"))).Should().Contain("frr-sidecar.sh").And.Contain("frr-pythontools");
    }

    [Test]
    public void Only_the_node_agents_namespace_allows_privileged_pods()
    {
        Single<V1Namespace>(ControllerNamespace).Metadata.Labels.Should().Contain("pod-security.kubernetes.io/enforce", "restricted");
        Single<V1Namespace>(NodeNamespace).Metadata.Labels.Should().Contain("pod-security.kubernetes.io/enforce", "privileged");
    }

    [Test]
    public void The_webhook_port_is_closed_to_pods_and_the_Service_webhook_sees_only_LoadBalancers()
    {
        var policy = Single<V1NetworkPolicy>("ipvs-operator-controller", ControllerNamespace).Spec;
        policy.PodSelector.MatchLabels.Should().Contain("app.kubernetes.io/name", "ipvs-operator-controller");
        policy.PolicyTypes.Should().Equal("Ingress");
        var webhook = policy.Ingress.Single(rule => rule.Ports.Any(p => p.Port == "9443"));
        webhook.FromProperty.Should().Contain(peer => peer.IpBlock.Cidr == "0.0.0.0/0" && peer.IpBlock.Except.Contains("10.244.0.0/16"),
            "node addresses (the API server) may call it, the pod network may not");
        policy.Ingress.Should().Contain(rule => rule.Ports.Any(p => p.Port == "8080") && rule.FromProperty == null, "metrics and probes stay open");

        var services = Single<V1ValidatingWebhookConfiguration>("ipvs-operator-validating-webhook").Webhooks.Single(w => w.Name == "services.ipvsoperator.io");
        services.MatchConditions.Should().ContainSingle().Which.Expression.Should().Be("object.spec.type == 'LoadBalancer'");
    }

    [Test]
    public void The_controller_runs_two_non_root_replicas_with_a_read_only_root_probes_and_requests()
    {
        var deployment = Single<V1Deployment>("ipvs-operator-controller");
        var pod = deployment.Spec.Template.Spec;
        var container = pod.Containers.Single();

        deployment.Spec.Replicas.Should().Be(2);
        container.Args.Should().Contain("controller").And.Contain("--leader-elect=true");
        pod.ServiceAccountName.Should().Be("ipvs-operator-controller");
        pod.SecurityContext.RunAsNonRoot.Should().BeTrue();
        container.SecurityContext.ReadOnlyRootFilesystem.Should().BeTrue();
        container.SecurityContext.AllowPrivilegeEscalation.Should().BeFalse();
        container.SecurityContext.Capabilities.Drop.Should().Equal("ALL");
        pod.SecurityContext.SeccompProfile.Type.Should().Be("RuntimeDefault");
        container.LivenessProbe.HttpGet.Path.Should().Be("/healthz");
        container.ReadinessProbe.HttpGet.Path.Should().Be("/readyz");
        container.Resources.Requests.Should().ContainKeys("cpu", "memory");
        deployment.Spec.Template.Metadata.Labels.Should().Contain(Single<V1Service>("ipvs-operator-webhook-service").Spec.Selector, "the webhook Service reaches the controller's pods");
    }

    [Test]
    public void The_node_agent_uses_host_networking_and_NET_ADMIN_and_NET_RAW_only_on_load_balancing_nodes()
    {
        var pod = Single<V1DaemonSet>("ipvs-operator-node").Spec.Template.Spec;
        var container = pod.Containers.Single();

        pod.HostNetwork.Should().BeTrue();
        pod.ServiceAccountName.Should().Be("ipvs-operator-node");
        pod.NodeSelector.Should().Contain("ipvsoperator.io/load-balancer", "true");
        container.Args.Should().Contain("node").And.Contain("--bind-iface=ipvs-lb0");
        container.SecurityContext.Privileged.Should().BeFalse();
        container.SecurityContext.Capabilities.Add.Should().Equal("NET_ADMIN", "NET_RAW");
        container.SecurityContext.Capabilities.Drop.Should().Equal("ALL");
        container.SecurityContext.ReadOnlyRootFilesystem.Should().BeTrue();
        container.Env.Should().Contain(e => e.Name == "NODE_NAME" && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName");
        container.Env.Should().Contain(e => e.Name == "POD_NAMESPACE" && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace", "the announcement Leases live in the agents' namespace");
        container.Args.Should().Contain("--announce=$(ANNOUNCE)");
        container.Env.Should().Contain(e => e.Name == "ANNOUNCE" && e.Value == "l2", "layer 2 unless config/bgp adds FRR");
        pod.SecurityContext.SeccompProfile.Type.Should().Be("RuntimeDefault");
        pod.Volumes.Where(v => v.HostPath is not null).Select(v => v.HostPath.Path).Should().BeEquivalentTo(["/proc/sys/net/ipv4", "/run/ipvs-operator"],
            "of the host, only the IPv4 sysctls and the agent's own state directory");
        container.LivenessProbe.HttpGet.Path.Should().Be("/healthz");
        container.ReadinessProbe.HttpGet.Path.Should().Be("/readyz");
    }

    [Test]
    public async Task The_node_agent_runs_the_Native_AOT_build_that_the_image_puts_where_the_DaemonSet_looks()
    {
        var container = Single<V1DaemonSet>("ipvs-operator-node").Spec.Template.Spec.Containers.Single();
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "Dockerfile"));

        container.Command.Should().Equal("/app/ipvs-operator-node");
        container.Args[0].Should().Be("node", "the AOT build's one verb, with the flags of ipvs-operator node");
        dockerfile.Should().Contain("dotnet publish src/IpvsOperator.NodeAgent/IpvsOperator.NodeAgent.csproj -c Release -r linux-x64 -p:KubernetesClientFlavor=Aot", "the stage that compiles the agent with Native AOT, against KubernetesClient.Aot")
            .And.Contain("COPY --from=node-build /out/ipvs-operator-node /app/ipvs-operator-node");
        (await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "src", "IpvsOperator.NodeAgent", "IpvsOperator.NodeAgent.csproj")))
            .Should().Contain("<AssemblyName>ipvs-operator-node</AssemblyName>").And.Contain("<PublishAot>true</PublishAot>");
    }

    /// <summary>Every rule of a component's rendered ClusterRole and Role.</summary>
    private static IEnumerable<V1PolicyRule> Rules(string component) =>
        rendered.OfType<V1ClusterRole>().Where(r => r.Metadata.Name == $"ipvs-operator-{component}").SelectMany(r => r.Rules)
            .Concat(rendered.OfType<V1Role>().Where(r => r.Metadata.Name == $"ipvs-operator-{component}").SelectMany(r => r.Rules));

    /// <summary>A component's grants as "verb resource" lines.</summary>
    private static HashSet<string> Granted(string component) =>
        [.. from rule in Rules(component) from resource in rule.Resources from verb in rule.Verbs select $"{verb} {resource}"];

    private static HashSet<string> Used(LocalClusterServer server, string user) =>
        [.. server.RequestsByUser.Keys.Where(k => k.User == user).Select(k => k.Request)];

    private static readonly string[] SharingServices = ["web", "web-tls"];

    private const string ControllerUser = $"system:serviceaccount:{ControllerNamespace}:ipvs-operator-controller";
    private const string NodeUser = $"system:serviceaccount:{NodeNamespace}:ipvs-operator-node";

    /// <summary>
    /// A component's rendered ServiceAccount, roles and bindings (and its admission policy, if it has
    /// one), created as kubectl apply would; its token, bound to <paramref name="nodeName"/> as a
    /// pod's token on that node is.
    /// </summary>
    private static async Task<string> InstallRbacAsync(LocalClusterServer server, IKubernetes client, string component, string ns, string? nodeName = null)
    {
        var name = $"ipvs-operator-{component}";
        if ((await client.CoreV1.ListNamespaceAsync()).Items.All(n => n.Metadata.Name != ns))
        {
            await client.CoreV1.CreateNamespaceAsync(Single<V1Namespace>(ns));
        }
        await client.CoreV1.CreateNamespacedServiceAccountAsync(Single<V1ServiceAccount>(name, ns), ns);
        await client.RbacAuthorizationV1.CreateClusterRoleAsync(Single<V1ClusterRole>(name));
        await client.RbacAuthorizationV1.CreateClusterRoleBindingAsync(Single<V1ClusterRoleBinding>(name));
        await client.RbacAuthorizationV1.CreateNamespacedRoleAsync(Single<V1Role>(name, ns), ns);
        await client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(Single<V1RoleBinding>(name, ns), ns);
        if (rendered.OfType<V1ValidatingAdmissionPolicy>().SingleOrDefault(p => p.Metadata.Name == $"{name}-writes") is { } policy)
        {
            await client.AdmissionregistrationV1.CreateValidatingAdmissionPolicyAsync(policy);
            await client.AdmissionregistrationV1.CreateValidatingAdmissionPolicyBindingAsync(Single<V1ValidatingAdmissionPolicyBinding>(policy.Metadata.Name));
        }
        return server.Authentication.AddServiceAccount(ns, name, nodeName);
    }

    private static async Task InstallCrdsAsync(IKubernetes client)
    {
        foreach (var crd in new ManifestGenerator(OperatorAssemblies.All).CustomResourceDefinitions())
        {
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        }
    }

    /// <summary>Runs a scenario; when it fails after RBAC refused the component something, the failure names the refusals.</summary>
    private static async Task RefusalsReportedAsync(LocalClusterServer server, string user, Func<Task> scenario)
    {
        try
        {
            await scenario();
        }
        catch (Exception) when (server.DeniedByUser.Keys.Any(d => d.User == user))
        {
            NothingWasRefused(server, user);
            throw;
        }
    }

    private static void NothingWasRefused(LocalClusterServer server, string user) =>
        server.DeniedByUser.Where(d => d.Key.User == user).Select(d => d.Value).Should().BeEmpty($"{user} must be granted every request it makes");

    [Test]
    public void No_component_may_touch_Secrets_or_Leases_across_the_cluster_or_change_a_Service_spec_from_a_node()
    {
        foreach (var role in rendered.OfType<V1ClusterRole>())
        {
            role.Rules.Where(r => r.Resources.Intersect(["secrets", "leases", "*"]).Any()).Should().BeEmpty($"{role.Metadata.Name}: Secrets and Leases only in its own namespace");
            role.Rules.Should().NotContain(r => r.Verbs.Contains("*") || r.ApiGroups.Contains("*"), "no wildcards");
        }
        Rules("node").Where(r => r.Resources.Contains("services")).SelectMany(r => r.Verbs).Should().BeEquivalentTo(["list", "watch"], "a node agent reads Services and writes only their status");
        Rules("controller").Single(r => r.Resources.Contains("validatingwebhookconfigurations")).ResourceNames.Should().Equal("ipvs-operator-validating-webhook");
        Rules("controller").Where(r => r.Resources.Contains("secrets") && !r.Verbs.SequenceEqual(["create"])).Should().OnlyContain(r => r.ResourceNames.Count == 1 && r.ResourceNames[0] == "ipvs-operator-webhook-tls");
        Rules("controller").Where(r => r.Resources.Contains("leases") && !r.Verbs.SequenceEqual(["create"])).Should().OnlyContain(r => r.ResourceNames.Count == 1 && r.ResourceNames[0] == "ipvs-operator-controller");
    }

    [Test]
    public async Task The_controller_is_granted_every_verb_it_uses_and_nothing_it_does_not()
    {
        await using var server = await LocalClusterServer.StartAsync();
        using var client = server.CreateClient();
        await LocalMode.InstallAsync(client, CancellationToken.None);
        var token = await InstallRbacAsync(server, client, "controller", ControllerNamespace);
        var state = Directory.CreateTempSubdirectory("rbac-controller-");
        var host = new ControllerHost(new ControllerHostOptions
        {
            Kubeconfig = server.WriteKubeconfig(Path.Combine(state.FullName, "kubeconfig"), token: token),
            Election = new LeaderElectionOptions { Namespace = ControllerNamespace },
            Certificates = new WebhookCertificateOptions { Namespace = ControllerNamespace },
            WebhookPort = 0,
            MetricsPort = 0,
            Bind = IPAddress.Loopback,
        }, NullLoggerFactory.Instance);
        await RefusalsReportedAsync(server, ControllerUser, async () =>
        {
            using var stop = new CancellationTokenSource();
            var started = new TaskCompletionSource();
            var run = Task.Run(() => host.RunAsync(stop.Token, started));
            await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
            server.Admission.MapService(ControllerNamespace, ManifestGenerator.WebhookNames.ServiceName, "127.0.0.1", host.WebhookPort);

            // Everything the controller does for users: validate, allocate, share, fail and say so, release, unblock a pool.
            var pools = new EntityClient<V1Alpha1IPPool>(client);
            await pools.CreateAsync(new V1Alpha1IPPool { Metadata = new V1ObjectMeta { Name = "rbac" }, Spec = new IPPoolSpec { Addresses = ["198.51.100.1/32"] } });
            await pools.CreateAsync(new V1Alpha1IPPool
            {
                Metadata = new V1ObjectMeta { Name = "rbac-labelled" },
                Spec = new IPPoolSpec
                {
                    Addresses = ["198.51.100.9/32"],
                    ServiceAllocation = new ServiceAllocation { NamespaceSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["team"] = "none" } } },
                },
            });
            V1Service LoadBalancer(string name, int port) => new()
            {
                Metadata = new V1ObjectMeta { Name = name, Annotations = new Dictionary<string, string> { [WellKnown.Annotations.AllowSharedIP] = "rbac" } },
                Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = [new V1ServicePort { Port = port }] },
            };
            await client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer("web", 80), "default");
            await client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer("web-tls", 443), "default"); // shares web's address
            foreach (var name in SharingServices)
            {
                await Eventually.TrueAsync(async () => (await client.CoreV1.ReadNamespacedServiceAsync(name, "default")).Status?.LoadBalancer?.Ingress?.Count == 1, $"{name} has an address");
            }
            var nowhere = LoadBalancer("nowhere", 80);
            nowhere.Metadata.Annotations = null;
            await client.CoreV1.CreateNamespacedServiceAsync(nowhere, "default"); // every address is taken
            await Eventually.TrueAsync(async () => (await client.CoreV1.ListNamespacedEventAsync("default")).Items.Any(e => e.Reason == WellKnown.Events.AllocationFailed && e.Count > 1),
                "the failure is recorded again (one Event, its count bumped)");
            await client.CoreV1.DeleteNamespacedServiceAsync("web-tls", "default");
            await client.CoreV1.DeleteNamespacedServiceAsync("web", "default");
            await client.CoreV1.DeleteNamespacedServiceAsync("nowhere", "default");
            var claims = new EntityClient<V1Alpha1IPAllocation>(client);
            await Eventually.TrueAsync(async () => (await claims.ListAsync()).Items.Count == 0, "every address is released"); // the webhook refuses deleting a pool in use
            await pools.DeleteAsync(null, "rbac");
            await Eventually.TrueAsync(async () => await pools.GetAsync(null, "rbac") is null, "the pool is gone once unused");
            await pools.DeleteAsync(null, "rbac-labelled");
            // A BGPPeer passes the webhook, which looks at the other peers and at the nodes they select.
            var bgpPeers = new EntityClient<V1Alpha1BGPPeer>(client);
            await bgpPeers.CreateAsync(new V1Alpha1BGPPeer { Metadata = new V1ObjectMeta { Name = "tor" }, Spec = new BGPPeerSpec { PeerAddress = "10.0.0.254", PeerASN = 64500, LocalASN = 64512 } });
            await client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = "node-a" } });
            (await ApiErrors.Of(() => bgpPeers.CreateAsync(new V1Alpha1BGPPeer { Metadata = new V1ObjectMeta { Name = "tor-2" }, Spec = new BGPPeerSpec { PeerAddress = "10.0.0.253", PeerASN = 64500, LocalASN = 64513 } })))
                .Message.Should().Contain("both select node node-a");
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
            state.Delete(recursive: true);
        });

        NothingWasRefused(server, ControllerUser);
        var used = Used(server, ControllerUser);
        var granted = Granted("controller");
        used.Except(granted).Should().BeEmpty("every request the controller made must be granted");
        granted.Except(used).Should().BeEquivalentTo(
            ["update secrets", "get services"],
            "every grant is used, except on two paths this scenario cannot take: renewing the webhook certificate " +
            "(30 days before it expires) and confirming with the API server that the Service of a claim is gone when the cache lags");
    }

    [Test]
    public async Task The_node_agent_is_granted_every_verb_it_uses_and_nothing_it_does_not()
    {
        await using var server = await LocalClusterServer.StartAsync();
        using var client = server.CreateClient();
        await InstallCrdsAsync(client);
        var token = await InstallRbacAsync(server, client, "node", NodeNamespace, nodeName: "node-a");
        var state = Directory.CreateTempSubdirectory("rbac-node-");
        var kubeconfig = server.WriteKubeconfig(Path.Combine(state.FullName, "kubeconfig"), token: token);
        NodeHost Host(TimeSpan syncPeriod) => new(new NodeHostOptions
        {
            Kubeconfig = kubeconfig,
            Dataplane = DataplaneKind.Memory,
            MetricsPort = 0,
            Bind = IPAddress.Loopback,
            Agent = new NodeAgentOptions
            {
                NodeName = "node-a",
                ForwardTo = ForwardTarget.NodePort,
                SyncPeriod = syncPeriod,
                Bgp = new IpvsOperator.Node.Bgp.BgpOptions { SessionPoll = TimeSpan.FromMilliseconds(200) },
                Layer2 = new Layer2Options { Namespace = NodeNamespace, LeaseDuration = TimeSpan.FromSeconds(2), RenewDeadline = TimeSpan.FromSeconds(1), RetryPeriod = TimeSpan.FromMilliseconds(200),
                    HeartbeatAddress = System.Net.IPAddress.Loopback, HeartbeatPort = 0 },
            },
        }, NullLoggerFactory.Instance);
        var host = Host(TimeSpan.FromSeconds(30));
        await RefusalsReportedAsync(server, NodeUser, async () =>
        {
            using var stop = new CancellationTokenSource();
            var started = new TaskCompletionSource();
            var run = Task.Run(() => host.RunAsync(stop.Token, started));
            await started.Task.WaitAsync(TimeSpan.FromSeconds(30));

            // A served Service whose scheduler annotation goes bad, good, and bad again (one Event, its count bumped).
            var created = await client.CoreV1.CreateNamespacedServiceAsync(new V1Service
            {
                Metadata = new V1ObjectMeta { Name = "web", Annotations = new Dictionary<string, string> { [WellKnown.Annotations.Scheduler] = "fastest" } },
                Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = [new V1ServicePort { Port = 80 }] },
            }, "default");
            await new EntityClient<V1Alpha1IPAllocation>(client).CreateAsync(new V1Alpha1IPAllocation
            {
                Metadata = new V1ObjectMeta { Name = "ipv4-198-51-100-1" },
                Spec = new IPAllocationSpec { Address = "198.51.100.1", Pool = "p", ServiceRef = new ServiceReference { Namespace = "default", Name = "web", Uid = created.Metadata.Uid } },
            });
            async Task ScheduleAsync(string scheduler) => await client.CoreV1.PatchNamespacedServiceAsync(
                new V1Patch(new V1Service { Metadata = new V1ObjectMeta { Annotations = new Dictionary<string, string> { [WellKnown.Annotations.Scheduler] = scheduler } } }, V1Patch.PatchType.MergePatch), "web", "default");
            await Eventually.TrueAsync(() => host.Agent!.LastReport?.VirtualServices == 1, "the Service is served");
            await ScheduleAsync("wlc");
            await Eventually.TrueAsync(() => host.Dataplane!.Ipvs.ListServices().SingleOrDefault()?.Scheduler == "wlc", "the agent followed the good annotation");
            await ScheduleAsync("fastest");
            await Eventually.TrueAsync(async () => (await client.CoreV1.ListNamespacedEventAsync("default")).Items.Any(e => e.Reason == "UnknownScheduler" && e.Count == 2),
                "the warning is recorded again when it comes back");
            // Layer 2: the node takes the address, says so on the Service, and on stopping releases its Leases.
            await Eventually.TrueAsync(async () => (await client.CoreV1.ReadNamespacedServiceAsync("web", "default")).Status?.Conditions?
                .Any(c => c.Type == WellKnown.Conditions.Announced && c.Status == "True" && c.Message.Contains("announced from node-a", StringComparison.Ordinal)) == true, "the Service says node-a announces it");
            await Eventually.TrueAsync(async () => (await new EntityClient<V1Alpha1IPVSNode>(client).GetAsync(null, "node-a"))?.Status.VirtualServices == 1,
                "the node's IPVSNode shows what it serves");
            // BGP: a peer whose password is in a Secret of the agents' namespace.
            await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = "tor" },
                Data = new Dictionary<string, byte[]> { ["password"] = System.Text.Encoding.UTF8.GetBytes("s3cret") },
            }, NodeNamespace);
            await new EntityClient<V1Alpha1BGPPeer>(client).CreateAsync(new V1Alpha1BGPPeer
            {
                Metadata = new V1ObjectMeta { Name = "tor" },
                Spec = new BGPPeerSpec { PeerAddress = "10.0.0.254", PeerASN = 64500, LocalASN = 64512, PasswordSecret = new SecretKeyReference { Name = "tor" } },
            });
            await Eventually.TrueAsync(async () => (await new EntityClient<V1Alpha1IPVSNode>(client).GetAsync(null, "node-a"))?.Status.Bgp?.Established == "1/1",
                "the node's IPVSNode shows the BGP session");
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(30));

            // Restarted with other flags: its IPVSNode says so.
            using var again = new CancellationTokenSource();
            var restarted = Task.Run(() => Host(TimeSpan.FromSeconds(20)).RunAsync(again.Token, new TaskCompletionSource()));
            await Eventually.TrueAsync(async () => (await new EntityClient<V1Alpha1IPVSNode>(client).GetAsync(null, "node-a"))?.Spec.SyncPeriodSeconds == 20,
                "the restarted agent brings the spec up to date");
            await again.CancelAsync();
            await restarted.WaitAsync(TimeSpan.FromSeconds(30));
            state.Delete(recursive: true);
        });

        NothingWasRefused(server, NodeUser);
        var used = Used(server, NodeUser);
        var granted = Granted("node");
        used.Except(granted).Should().BeEmpty("every request the node agent made must be granted");
        granted.Except(used).Should().BeEmpty("every grant is used");
    }

    [Test]
    public async Task A_node_agent_may_write_its_own_IPVSNode_and_Leases_but_not_another_nodes()
    {
        await using var server = await LocalClusterServer.StartAsync();
        using var admin = server.CreateClient();
        await InstallCrdsAsync(admin);
        var tokenA = await InstallRbacAsync(server, admin, "node", NodeNamespace, nodeName: "node-a");
        var tokenB = server.Authentication.AddServiceAccount(NodeNamespace, "ipvs-operator-node", "node-b");
        var unbound = server.Authentication.AddServiceAccount(NodeNamespace, "ipvs-operator-node");
        using var agentA = server.CreateClient(tokenA);
        using var agentB = server.CreateClient(tokenB);
        using var noNode = server.CreateClient(unbound);
        var nodesOfA = new EntityClient<V1Alpha1IPVSNode>(agentA);
        static V1Alpha1IPVSNode NodeStatus(string name) => new() { Metadata = new V1ObjectMeta { Name = name }, Spec = new IPVSNodeSpec() };
        static V1Lease Lease(string name, string holder) => new()
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { [AnnouncementElection.ComponentLabel] = "true" } },
            Spec = new V1LeaseSpec { HolderIdentity = holder, LeaseDurationSeconds = 15 },
        };
        async Task<string> RefusedAsync(Func<Task> write)
        {
            var refused = await ApiErrors.Of(write);
            refused.Code.Should().Be(HttpStatusCode.Forbidden);
            return refused.Message;
        }

        // Its own: its IPVSNode, its presence, an address it takes, releases and takes again.
        await nodesOfA.CreateAsync(NodeStatus("node-a"));
        await agentA.CoordinationV1.CreateNamespacedLeaseAsync(Lease("ipvs-node-node-a", "node-a"), NodeNamespace);
        var address = await agentA.CoordinationV1.CreateNamespacedLeaseAsync(Lease("ipvs-vip-ipv4-192-0-2-10", "node-a"), NodeNamespace);
        address.Spec.HolderIdentity = string.Empty;
        address = await agentA.CoordinationV1.ReplaceNamespacedLeaseAsync(address, address.Metadata.Name, NodeNamespace);
        address.Spec.HolderIdentity = "node-a";
        address = await agentA.CoordinationV1.ReplaceNamespacedLeaseAsync(address, address.Metadata.Name, NodeNamespace);
        await agentA.CoordinationV1.DeleteNamespacedLeaseAsync("ipvs-node-node-a", NodeNamespace);

        // Not another node's: B's IPVSNode, B's presence, an address held in B's name or released from B.
        await new EntityClient<V1Alpha1IPVSNode>(agentB).CreateAsync(NodeStatus("node-b"));
        var ofB = (await nodesOfA.GetAsync(null, "node-b"))!;
        ofB.Spec.SyncPeriodSeconds = 1;
        (await RefusedAsync(() => nodesOfA.ReplaceAsync(ofB))).Should()
            .Be("ValidatingAdmissionPolicy 'ipvs-operator-node-writes' with binding 'ipvs-operator-node-writes' denied request: node node-a may write only IPVSNode node-a, not node-b");
        (await RefusedAsync(() => nodesOfA.CreateAsync(NodeStatus("node-c")))).Should().EndWith("node node-a may write only IPVSNode node-a, not node-c");
        await agentB.CoordinationV1.CreateNamespacedLeaseAsync(Lease("ipvs-node-node-b", "node-b"), NodeNamespace);
        var presenceOfB = await agentA.CoordinationV1.ReadNamespacedLeaseAsync("ipvs-node-node-b", NodeNamespace);
        presenceOfB.Spec.RenewTime = DateTime.UtcNow;
        (await RefusedAsync(() => agentA.CoordinationV1.ReplaceNamespacedLeaseAsync(presenceOfB, "ipvs-node-node-b", NodeNamespace))).Should()
            .EndWith("node node-a may write only its own presence Lease ipvs-node-node-a, held by itself, not Lease ipvs-node-node-b");
        await RefusedAsync(() => agentA.CoordinationV1.DeleteNamespacedLeaseAsync("ipvs-node-node-b", NodeNamespace));
        await RefusedAsync(() => agentA.CoordinationV1.CreateNamespacedLeaseAsync(Lease("ipvs-node-node-a", "node-b"), NodeNamespace));
        var heldByB = await agentB.CoordinationV1.CreateNamespacedLeaseAsync(Lease("ipvs-vip-ipv4-192-0-2-11", "node-b"), NodeNamespace);
        heldByB.Spec.HolderIdentity = string.Empty;
        (await RefusedAsync(() => agentA.CoordinationV1.ReplaceNamespacedLeaseAsync(heldByB, heldByB.Metadata.Name, NodeNamespace))).Should()
            .EndWith("node node-a may name only itself as the holder of Lease ipvs-vip-ipv4-192-0-2-11, and release it only while it holds it");
        address.Spec.HolderIdentity = "node-b";
        await RefusedAsync(() => agentA.CoordinationV1.ReplaceNamespacedLeaseAsync(address, address.Metadata.Name, NodeNamespace));
        await RefusedAsync(() => agentA.CoordinationV1.CreateNamespacedLeaseAsync(Lease("kube-scheduler", "node-a"), NodeNamespace));
        (await RefusedAsync(() => agentA.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "planted" } }, NodeNamespace)))
            .Should().EndWith("a node agent creates no Secret but the heartbeat key ipvs-operator-peer-key");
        (await RefusedAsync(() => new EntityClient<V1Alpha1IPVSNode>(noNode).CreateAsync(NodeStatus("node-d")))).Should()
            .Contain("the request's credentials name no node (authentication.kubernetes.io/node-name)");
        (await admin.CoordinationV1.ReadNamespacedLeaseAsync("ipvs-node-node-b", NodeNamespace)).Spec.HolderIdentity.Should().Be("node-b", "nothing A tried landed");
    }
}
