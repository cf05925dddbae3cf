namespace Persona.Abstractions;

/// <summary>
/// A catalog item. Localised names travel as attributes: <c>title_zh</c> and <c>category_path_zh</c>
/// (segments joined by <see cref="CategoryPaths.Separator"/>) give the Chinese title and category names
/// beside the English ones, and labels fall back to whatever language the shop sent.
/// </summary>
public sealed record Item
{
    public required string Id { get; init; }
    public string Title { get; init; } = "";
    public string? Description { get; init; }
    /// <summary>Root first, e.g. ["Beauty", "Makeup", "Lipstick"]. Empty when unknown.</summary>
    public IReadOnlyList<string> CategoryPath { get; init; } = [];
    public string? Brand { get; init; }
    public double? Price { get; init; }
    public string Currency { get; init; } = "CNY";
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();
    public bool Available { get; init; } = true;
    public DateTimeOffset? CreatedAt { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
}

public static class CategoryPaths
{
    public const string Separator = " > ";

    /// <summary>The key of the path prefix of the given depth (1 = root): "Beauty > Makeup".</summary>
    public static string Key(IReadOnlyList<string> path, int depth) =>
        string.Join(Separator, path.Take(depth));
}
