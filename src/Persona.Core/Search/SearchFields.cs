using Persona.Abstractions;
using Persona.Text;

namespace Persona.Core.Search;

/// <summary>
/// The indexed fields of an item: title (with <c>title_zh</c>), brand (with <c>brand_zh</c>), category path (with
/// <c>category_path_zh</c>) and the remaining attribute values (ids, codes and links left out).
/// </summary>
public static class SearchFields
{
    public const int Title = 0;
    public const int Brand = 1;
    public const int Category = 2;
    public const int Attributes = 3;
    public const int Count = 4;

    private static readonly HashSet<string> LocalisedKeys = new(StringComparer.Ordinal) { "title_zh", "brand_zh", "category_path_zh" };

    /// <summary>Analysed terms per field, in field order.</summary>
    public static IReadOnlyList<string>[] Analyze(Item item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var title = TextAnalyzer.Analyze(item.Title);
        TextAnalyzer.Analyze(Attr(item, "title_zh"), title);
        var brand = TextAnalyzer.Analyze(item.Brand);
        TextAnalyzer.Analyze(Attr(item, "brand_zh"), brand);
        var category = new List<string>();
        foreach (var segment in item.CategoryPath) TextAnalyzer.Analyze(segment, category);
        TextAnalyzer.Analyze(Attr(item, "category_path_zh"), category);
        var attributes = new List<string>();
        foreach (var (key, value) in item.Attributes)
            if (!LocalisedKeys.Contains(key) && !IsIdentifier(key)) TextAnalyzer.Analyze(value, attributes);
        return [title, brand, category, attributes];
    }

    /// <summary>All text of the item in one string: what the semantic encoder reads.</summary>
    /// <summary>A hash of <see cref="FullText"/>, the same in every process: a stored vector is reused only for the text it was encoded from.</summary>
    public static ulong TextHash(string fullText) =>
        System.IO.Hashing.XxHash64.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(fullText.AsSpan()));

    public static string FullText(Item item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var parts = new List<string> { item.Title };
        if (item.Brand is { } b) parts.Add(b);
        parts.AddRange(item.CategoryPath);
        foreach (var key in LocalisedKeys)
            if (Attr(item, key) is { } v) parts.Add(v);
        return string.Join(' ', parts);
    }

    /// <summary>Brand and category text: the "attributes" side of the encoder's (title, attributes) pairs.</summary>
    public static string AttributeText(Item item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var parts = new List<string>();
        if (item.Brand is { } b) parts.Add(b);
        parts.AddRange(item.CategoryPath);
        if (Attr(item, "brand_zh") is { } bz) parts.Add(bz);
        if (Attr(item, "category_path_zh") is { } cz) parts.Add(cz);
        return string.Join(' ', parts);
    }

    public static string? Attr(Item item, string key) =>
        item.Attributes.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v) ? v : null;

    private static bool IsIdentifier(string key) =>
        key is "asin" or "sku" or "id" or "gtin" or "ean" or "upc"
        || key.EndsWith("_id", StringComparison.Ordinal) || key.EndsWith("url", StringComparison.Ordinal) || key.Contains("image", StringComparison.Ordinal);
}
