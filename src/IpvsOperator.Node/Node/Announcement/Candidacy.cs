namespace IpvsOperator.Node.Announcement;

/// <summary>
/// Who may announce one address: <see cref="Nodes"/> (null: any live node) and, when
/// <see cref="NeedsSourceNat"/>, only those whose source NAT works (their presence says so).
/// </summary>
internal sealed record Candidacy(IReadOnlySet<string>? Nodes, bool NeedsSourceNat = false);
