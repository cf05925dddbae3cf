namespace Persona.Tests;

/// <summary>Finds <c>../shared/datasets</c> beside the repository root (the folder holding Persona.slnx).</summary>
public static class SharedDatasets
{
    public static string? Root { get; } = FindRoot();

    private static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Persona.slnx")))
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "datasets"));
        }
        return null;
    }

    public static string PathOf(string name) => Path.Combine(Root ?? "", name);

    public static bool Exists(string name) => Root is not null && Directory.Exists(PathOf(name));
}

/// <summary>A fact that is skipped, saying why, when a shared data set is absent.</summary>
public sealed class DatasetFactAttribute : FactAttribute
{
    public DatasetFactAttribute(string dataset)
    {
        if (!SharedDatasets.Exists(dataset))
            Skip = $"Shared data set '{dataset}' not found at {SharedDatasets.PathOf(dataset)} (../shared/datasets beside the repository root); skipped.";
    }
}
