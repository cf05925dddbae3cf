namespace Persona.Neural.Tests.Bert;

/// <summary>Locates <c>../shared/golden</c> relative to the repository root (the folder holding Persona.slnx).</summary>
internal static class GoldenData
{
    private static readonly Lazy<string?> Root = new(FindRoot);

    public static bool Available => Root.Value is not null;

    public static string SkipReason =>
        "Golden data not found: expected ../shared/golden (beside the repository root holding Persona.slnx).";

    public static string Path(params string[] parts) =>
        System.IO.Path.Combine([Root.Value ?? throw new InvalidOperationException(SkipReason), .. parts]);

    private static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Persona.slnx")))
            {
                string golden = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared", "golden"));
                return Directory.Exists(golden) ? golden : null;
            }
        }

        return null;
    }
}

/// <summary>A fact that is skipped, saying why, when the shared golden data is absent.</summary>
public sealed class GoldenFactAttribute : FactAttribute
{
    public GoldenFactAttribute()
    {
        if (!GoldenData.Available)
        {
            Skip = GoldenData.SkipReason;
        }
    }
}

/// <summary>A theory that is skipped, saying why, when the shared golden data is absent.</summary>
public sealed class GoldenTheoryAttribute : TheoryAttribute
{
    public GoldenTheoryAttribute()
    {
        if (!GoldenData.Available)
        {
            Skip = GoldenData.SkipReason;
        }
    }
}
