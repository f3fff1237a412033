namespace IpvsOperator.Migration;

/// <summary>How much a finding of the translation matters to the user.</summary>
internal enum FindingKind
{
    /// <summary>Behaviour stays the same; said so that nothing is silent.</summary>
    Note,

    /// <summary>Behaviour stays the same once the user does what it says (copy a Secret, keep one out of Git).</summary>
    Action,

    /// <summary>Something behaves differently after the switch: the command fails unless the user accepts it.</summary>
    Change,
}
