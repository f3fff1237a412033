namespace IpvsOperator.Tests.Support;

/// <summary>The checkout the tests run from: the folder above the test binaries that holds global.json.</summary>
public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "global.json")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"no global.json above {AppContext.BaseDirectory}");
    }
}
