namespace IpvsOperator.Tests.Support;

/// <summary>
/// Programs a host test runs that a fresh machine may lack. <c>make test</c> installs them where it
/// can (tools/provision.sh); where it cannot, the tests that need one skip, naming the package, instead
/// of failing on "exec failed". CI fails on a skipped test.
/// </summary>
public static class HostTools
{
    /// <param name="tools">Each program's name and the Debian package that brings it.</param>
    public static void Require(params (string Program, string Package)[] tools)
    {
        var missing = tools.Where(tool => !OnPath(tool.Program)).ToList();
        if (missing.Count > 0)
        {
            Assert.Ignore($"{string.Join(", ", missing.Select(tool => tool.Program))} not installed (apt-get install " +
                $"{string.Join(' ', missing.Select(tool => tool.Package).Distinct())}; make test installs it when run as root); CI fails on a skipped test");
        }
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, program)));
}
