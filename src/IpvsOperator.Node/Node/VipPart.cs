namespace IpvsOperator.Node;

/// <summary>One VIP's part of a sync: its virtual services as programmed (draining destinations included, mh ones in canonical order) and what it serves.</summary>
internal sealed record VipPart(DesiredState Programmed, ServedServices Served);
