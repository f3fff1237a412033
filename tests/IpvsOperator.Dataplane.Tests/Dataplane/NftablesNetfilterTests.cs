using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Dataplane.Nftables;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Dataplane;

/// <summary>The nft program as the agent runs it: a hung run is killed, a failed one says why.</summary>
public class NftablesNetfilterTests
{
    private static string FakeNft(string body)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("fake-nft-").FullName, "nft");
        File.WriteAllText(path, $"#!/bin/sh\n{body}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static NftablesNetfilter Netfilter(string nft, TimeSpan timeout)
    {
        var sysctl = new InMemorySysctl();
        sysctl.Write("net/ipv4/vs/conntrack", "1");
        return new NftablesNetfilter(sysctl, NullLogger.Instance, nft, timeout);
    }

    [Test]
    public void An_nft_that_hangs_is_killed_and_the_write_fails_naming_the_timeout()
    {
        var nft = FakeNft("exec sleep 600");

        var apply = () => Netfilter(nft, TimeSpan.FromSeconds(1)).Apply(NetfilterRules.None, verify: false);

        apply.Should().Throw<InvalidOperationException>().WithMessage($"{nft} -f - did not finish within 00:00:01: killed");
    }

    [Test]
    public void An_nft_that_fails_says_what_it_printed()
    {
        var nft = FakeNft("echo 'Error: Could not process rule: Operation not permitted' >&2; exit 1");

        var apply = () => Netfilter(nft, TimeSpan.FromSeconds(30)).Apply(NetfilterRules.None, verify: false);

        apply.Should().Throw<InvalidOperationException>().WithMessage($"{nft} -f - failed (1): Error: Could not process rule: Operation not permitted");
    }
}
