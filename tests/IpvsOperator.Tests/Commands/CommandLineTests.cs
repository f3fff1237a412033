using IpvsOperator.Commands;
using IpvsOperator.Runtime.Text;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Commands;

/// <summary>What a user types: durations with units, a help verb, defaults that say how to change them.</summary>
public class CommandLineTests
{
    internal static readonly string Binary = Path.Combine(AppContext.BaseDirectory, "ipvs-operator.dll");

    [TestCase("500ms", 500)]
    [TestCase("30s", 30_000)]
    [TestCase("5m", 300_000)]
    [TestCase("1h", 3_600_000)]
    [TestCase("1m30s", 90_000)]
    [TestCase("1.5s", 1_500)]
    [TestCase("00:00:03", 3_000)]
    [TestCase("00:00:00.5", 500)]
    public void Durations_are_read_with_their_unit(string text, int milliseconds)
    {
        DurationText.TryParse(text, out var duration).Should().BeTrue();
        duration.Should().Be(TimeSpan.FromMilliseconds(milliseconds));
    }

    [TestCase("5")]
    [TestCase("30 s")]
    [TestCase("5d")]
    [TestCase("-1s")]
    [TestCase("s")]
    // Beyond what a TimeSpan holds (about 29,000 years): refused, never an OverflowException that stops a loop.
    [TestCase("300000000h")]
    [TestCase("9999999999999999999ms")]
    [TestCase("200000000h200000000h")]
    [TestCase("99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999s")]
    [TestCase("99999999:00:00")]
    public void Other_durations_are_not(string text) => DurationText.TryParse(text, out _).Should().BeFalse();

    [Test]
    public void A_bare_number_is_refused_with_the_forms_that_would_do() =>
        DurationText.Refusal("--lease-duration", "5").Should().Be("--lease-duration '5' has no unit; write 5s, 5ms or 5m (a number with a unit: 500ms, 30s, 5m, 1h or a sum such as 1m30s)");

    [Test]
    public async Task The_node_verb_refuses_a_duration_without_unit_naming_the_flag()
    {
        var refused = await Processes.RunAsync("dotnet", [Binary, "node", "--dataplane", "memory", "--sync-period", "30"], TimeSpan.FromSeconds(60));

        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("--sync-period '30' has no unit; write 30s");
    }

    [Test]
    public async Task Help_is_a_verb_too_and_shows_defaults_as_they_are_typed()
    {
        var all = await Processes.RunAsync("dotnet", [Binary, "help"], TimeSpan.FromSeconds(60));
        var node = await Processes.RunAsync("dotnet", [Binary, "help", "node"], TimeSpan.FromSeconds(60));
        var controller = await Processes.RunAsync("dotnet", [Binary, "help", "controller"], TimeSpan.FromSeconds(60));
        var generate = await Processes.RunAsync("dotnet", [Binary, "generate", "--help"], TimeSpan.FromSeconds(60));

        all.ExitCode.Should().Be(0);
        all.Output.Should().Contain("controller").And.Contain("node").And.Contain("local").And.Contain("generate");
        node.Output.Should().Contain("--sync-period <duration>").And.Contain("(default 30s)").And.Contain("(default 500ms)").And.NotContain("00:00:30");
        controller.Output.Should().Contain("--leader-elect=false").And.Contain("--default-class=false");
        generate.Output.Should().Contain("crd/, rbac/ and webhook/");
    }

    [Test]
    public void The_stand_in_endpoints_flag_says_what_local_mode_does_with_a_published_slice()
    {
        var flag = LocalCommand.Create().Options.Single(o => o.Name == "--stand-in-endpoints");

        flag.Description.Should().NotContain("to publish your own", "a published EndpointSlice needs no flag: it replaces the stand-ins")
            .And.Contain("until you publish an EndpointSlice").And.Contain("IP family").And.Contain("--stand-in-endpoints=false");
    }
}
