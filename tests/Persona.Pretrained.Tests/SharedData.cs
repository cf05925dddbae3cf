namespace Persona.Pretrained.Tests;

/// <summary>Locates <c>../shared</c> beside the repository root (the folder holding Persona.slnx).</summary>
internal static class SharedData
{
    private static readonly Lazy<string?> Root = new(FindRoot);

    public static bool GoldenAvailable => Root.Value is not null && Directory.Exists(System.IO.Path.Combine(Root.Value, "golden"));

    public static string GoldenSkipReason =>
        "Golden data not found: expected ../shared/golden (beside the repository root holding Persona.slnx).";

    public static string Golden(params string[] parts) =>
        System.IO.Path.Combine([Root.Value ?? throw new InvalidOperationException(GoldenSkipReason), "golden", .. parts]);

    private static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Persona.slnx")))
            {
                string shared = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared"));
                return Directory.Exists(shared) ? shared : null;
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
        if (!SharedData.GoldenAvailable)
        {
            Skip = SharedData.GoldenSkipReason;
        }
    }
}
