using IpvsOperator.Entities;

/// <summary>Every test assembly registers the operator's kinds for the runtime's JSON, as each program does first thing.</summary>
[SetUpFixture]
#pragma warning disable CA1050 // a set-up fixture outside every namespace applies to the whole assembly
public sealed class OperatorJsonSetUp
#pragma warning restore CA1050
{
    [OneTimeSetUp]
    public void Register() => OperatorJson.Register();
}
