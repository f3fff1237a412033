using IpvsOperator.Migration;

namespace IpvsOperator.Commands;

/// <summary>The files a migration reads: those given, and the YAML and JSON files of the folders given, in name order.</summary>
internal static class MigrationInput
{
    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];

    public static IReadOnlyList<MetalLBObject> Read(IEnumerable<string> paths)
    {
        var objects = new List<MetalLBObject>();
        foreach (var path in paths)
        {
            var files = Directory.Exists(path)
                ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                    .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToList()
                : File.Exists(path) ? [path] : throw new MetalLBInputException($"{path}: no such file or folder");
            foreach (var file in files)
            {
                string text;
                try
                {
                    text = File.ReadAllText(file);
                }
                catch (Exception error) when (error is IOException or UnauthorizedAccessException)
                {
                    throw new MetalLBInputException($"{file}: cannot be read: {error.Message}");
                }
                objects.AddRange(MetalLBDocuments.Parse(file, text));
            }
        }
        return objects;
    }
}
