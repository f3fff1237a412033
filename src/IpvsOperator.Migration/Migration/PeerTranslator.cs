using IpvsOperator.Entities;
using IpvsOperator.Runtime.Text;
using k8s.Models;

namespace IpvsOperator.Migration;

/// <summary>
/// MetalLB BGPPeers (v1beta1 and v1beta2) become BGPPeers, with the BFDProfile a peer names
/// written into its <c>bfd</c>, and a password MetalLB held in the BGPPeer moved into a Secret.
/// </summary>
internal sealed class PeerTranslator(MigrationResult result, IReadOnlyDictionary<string, MetalLBObject> bfdProfiles)
{
    /// <summary>FRR's hold and keepalive times when a neighbor sets none, under MetalLB's <c>frr defaults traditional</c>.</summary>
    private const int FrrHoldSeconds = 180;
    private const int FrrKeepaliveSeconds = 60;

    /// <summary>The TTL FRR gives <c>neighbor ... ebgp-multihop</c> written without one, as MetalLB writes it.</summary>
    private const int FrrMultihopTtl = 255;

    private readonly Dictionary<string, BfdProfileSpec> translatedProfiles = new(StringComparer.Ordinal);

    public void Translate(MetalLBObject peer)
    {
        var fields = new SpecFields(peer);
        var spec = new BGPPeerSpec
        {
            LocalASN = fields.Integer("myASN") ?? 0,
            PeerASN = fields.Integer("peerASN") ?? 0,
            PeerAddress = fields.String("peerAddress") ?? string.Empty,
            SourceAddress = fields.String("sourceAddress") is { Length: > 0 } source ? source : null,
            Port = (int)Math.Clamp(fields.Integer("peerPort") ?? 179, 0, int.MaxValue),
            EbgpMultihop = fields.Bool("ebgpMultiHop") == true ? FrrMultihopTtl : null,
        };
        if (fields.Integer("localASN") is { } localAs && localAs != 0)
        {
            result.Add(FindingKind.Note, peer, "spec.localASN",
                $"{localAs}: the router sees the same AS. In MetalLB only this session uses it (local-as); in IpvsOperator it is the AS of every node this peer selects, and every BGPPeer of those nodes must give the same one");
            spec.LocalASN = localAs;
        }
        if (fields.String("dynamicASN") is { Length: > 0 } dynamic)
        {
            result.Add(FindingKind.Change, peer, "spec.dynamicASN",
                $"'{dynamic}': a BGPPeer needs the router's AS number (peerASN); without one this peer is not translated and the nodes do not peer with it");
            return;
        }
        if (fields.String("interface") is { Length: > 0 } unnumbered)
        {
            result.Add(FindingKind.Change, peer, "spec.interface",
                $"'{unnumbered}': IpvsOperator peers with an address, not over an interface (BGP unnumbered); this peer is not translated and the nodes do not peer with it");
            return;
        }
        Timers(fields, spec);
        Password(fields, spec);
        spec.Bfd = Bfd(fields);
        var nodes = fields.Selectors("nodeSelectors");
        if (!SelectorUnion.TryMerge(nodes, out var merged))
        {
            result.Add(FindingKind.Change, peer, "spec.nodeSelectors",
                $"{SelectorUnion.Describe(nodes)}: MetalLB peers from nodes that match any of these, a BGPPeer takes one selector; it takes none, so every node with BGP on peers with this router");
        }
        spec.NodeSelector = merged;
        ReportUnsupported(fields);
        result.ReportUnread(fields);
        result.Peers.Add(new V1Alpha1BGPPeer
        {
            ApiVersion = WellKnown.ApiVersion,
            Kind = V1Alpha1BGPPeer.KindName,
            Metadata = new V1ObjectMeta { Name = peer.Name },
            Spec = spec,
        });
        result.Sources[$"{V1Alpha1BGPPeer.KindName}/{peer.Name}"] = peer.Where;
    }

    /// <summary>As MetalLB: one time given, the other follows (keepalive a third of hold); none, FRR's defaults. Whole seconds, as FRR takes them.</summary>
    private void Timers(SpecFields fields, BGPPeerSpec spec)
    {
        var hold = Seconds(fields, "holdTime");
        var keepalive = Seconds(fields, "keepaliveTime");
        if (hold is null && keepalive is null)
        {
            result.Add(FindingKind.Note, fields.Source, "spec.holdTime",
                $"not set: MetalLB leaves FRR's defaults, hold {FrrHoldSeconds}s and keepalive {FrrKeepaliveSeconds}s; the BGPPeer says so (its own defaults are 90s and 30s)");
        }
        var holdSeconds = hold ?? (keepalive is { } k ? k * 3 : FrrHoldSeconds);
        var keepaliveSeconds = keepalive ?? (hold is { } h ? h / 3 : FrrKeepaliveSeconds);
        if (holdSeconds > 0 && keepaliveSeconds * 3 > holdSeconds)
        {
            result.Add(FindingKind.Change, fields.Source, "spec.keepaliveTime",
                $"{keepaliveSeconds}s is more than a third of the hold time {holdSeconds}s, which a BGPPeer refuses (one lost keepalive would end the session); it becomes {holdSeconds / 3}s, so keepalives go out more often");
            keepaliveSeconds = holdSeconds / 3;
        }
        spec.HoldTime = $"{holdSeconds}s";
        spec.KeepaliveTime = $"{keepaliveSeconds}s";
    }

    private static long? Seconds(SpecFields fields, string name)
    {
        if (fields.String(name) is not { } text)
        {
            return null;
        }
        if (!DurationText.TryParse(text, out var duration))
        {
            throw new MetalLBInputException($"{fields.Source.Where}: {fields.PathOf(name)} '{text}' is not a duration ({DurationText.Forms})");
        }
        return (long)duration.TotalSeconds; // FRR takes whole seconds; MetalLB truncates the same way
    }

    private void Password(SpecFields fields, BGPPeerSpec spec)
    {
        var peer = fields.Source;
        var reference = fields.Object("passwordSecret") is { } given ? new SpecFields(peer, given, "spec.passwordSecret.") : null;
        if (reference?.String("name") is { Length: > 0 } name)
        {
            var ns = reference.String("namespace") ?? peer.Namespace ?? "metallb-system";
            result.ReportUnread(reference);
            spec.PasswordSecret = new SecretKeyReference { Name = name, Key = "password" };
            result.Add(FindingKind.Action, peer, "spec.passwordSecret",
                $"the BGPPeer reads key 'password' of Secret {WellKnown.NodeNamespace}/{name}: copy Secret {ns}/{name} there before the switch (--apply copies it from the cluster; or {PasswordSecretCommands.Copy(ns, name)}), or the session does not come up (its agents say so in kubectl get ipvsnodes)");
            fields.String("password");
            return;
        }
        if (fields.String("password") is { Length: > 0 } password)
        {
            var secret = $"{peer.Name}-bgp-password";
            result.Secrets.Add(new V1Secret
            {
                ApiVersion = "v1",
                Kind = "Secret",
                Metadata = new V1ObjectMeta { Name = secret, NamespaceProperty = WellKnown.NodeNamespace },
                Type = "Opaque",
                Data = new Dictionary<string, byte[]> { ["password"] = System.Text.Encoding.UTF8.GetBytes(password) },
            });
            result.Sources[$"Secret/{secret}"] = peer.Where;
            spec.PasswordSecret = new SecretKeyReference { Name = secret, Key = "password" };
            result.Add(FindingKind.Action, peer, "spec.password",
                $"a BGPPeer takes its password from a Secret only, Secret {WellKnown.NodeNamespace}/{secret}: --apply creates it; the YAML output holds no password, so without --apply create it from this field's value ({PasswordSecretCommands.Create(secret)}) and keep it out of Git (a sealed or external secret)");
        }
    }

    private BfdProfileSpec? Bfd(SpecFields fields)
    {
        if (fields.String("bfdProfile") is not { Length: > 0 } name)
        {
            return null;
        }
        if (translatedProfiles.TryGetValue(name, out var known))
        {
            return known;
        }
        if (!bfdProfiles.TryGetValue(name, out var profile))
        {
            result.Add(FindingKind.Change, fields.Source, "spec.bfdProfile",
                $"names the BFDProfile '{name}', which is in no input; the BGPPeer has no BFD, so the router learns of a dead node after the hold time. Give every MetalLB file at once");
            return null;
        }
        var bfd = new SpecFields(profile);
        var spec = new BfdProfileSpec
        {
            ReceiveIntervalMilliseconds = (int)Math.Clamp(bfd.Integer("receiveInterval") ?? 300, 0, int.MaxValue),
            TransmitIntervalMilliseconds = (int)Math.Clamp(bfd.Integer("transmitInterval") ?? 300, 0, int.MaxValue),
            DetectMultiplier = (int)Math.Clamp(bfd.Integer("detectMultiplier") ?? 3, 0, int.MaxValue),
        };
        var echo = bfd.Bool("echoMode") == true;
        var echoInterval = bfd.Integer("echoInterval");
        if (echo)
        {
            result.Add(FindingKind.Change, profile, "spec.echoMode",
                $"true{(echoInterval is { } e ? $" (echoInterval {e} ms)" : string.Empty)}: IpvsOperator's BFD sends no echo packets; failures are detected by the control packets' intervals alone");
        }
        else if (echoInterval is { } unused)
        {
            result.Add(FindingKind.Note, profile, "spec.echoInterval", $"{unused} ms applies only with echoMode, which is off; nothing changes");
        }
        if (bfd.Bool("passiveMode") == true)
        {
            result.Add(FindingKind.Change, profile, "spec.passiveMode",
                "true: IpvsOperator's BFD sessions are active, the nodes start them rather than waiting for the router's packets");
        }
        if (bfd.Integer("minimumTtl") is { } ttl)
        {
            result.Add(FindingKind.Change, profile, "spec.minimumTtl",
                $"{ttl}: IpvsOperator sets no minimum TTL for multihop BFD packets; packets from farther away are accepted");
        }
        result.ReportUnread(bfd);
        translatedProfiles[name] = spec;
        return spec;
    }

    private void ReportUnsupported(SpecFields fields)
    {
        var peer = fields.Source;
        if (fields.String("routerID") is { Length: > 0 } routerId)
        {
            result.Add(FindingKind.Change, peer, "spec.routerID",
                $"'{routerId}': IpvsOperator lets FRR choose each node's router ID (its highest address); a router that filters on the router ID sees another one");
        }
        if (fields.String("connectTime") is { Length: > 0 } connect)
        {
            result.Add(FindingKind.Change, peer, "spec.connectTime",
                $"'{connect}': IpvsOperator retries a failed session every 10s, which is not configurable");
        }
        if (fields.Bool("enableGracefulRestart") == true)
        {
            result.Add(FindingKind.Change, peer, "spec.enableGracefulRestart",
                "true: IpvsOperator offers no graceful restart, so the router drops a restarting node's routes at once instead of keeping them stale (with ECMP the other nodes take the traffic)");
        }
        if (fields.String("vrf") is { Length: > 0 } vrf)
        {
            result.Add(FindingKind.Change, peer, "spec.vrf",
                $"'{vrf}': IpvsOperator peers from the default VRF only; the session to this router goes through the default VRF's routes, and may not come up");
        }
        if (fields.Bool("disableMP") == true)
        {
            result.Add(FindingKind.Note, peer, "spec.disableMP",
                "true: IpvsOperator never carries one family's routes over the other family's session, which is what this asks; nothing changes");
        }
        if (fields.Bool("dualStackAddressFamily") == true)
        {
            result.Add(FindingKind.Change, peer, "spec.dualStackAddressFamily",
                "true: an IpvsOperator session carries only its own family's VIPs; add a BGPPeer with the router's other-family address to announce those");
        }
    }
}
