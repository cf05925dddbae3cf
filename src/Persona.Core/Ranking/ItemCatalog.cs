using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Persona.Abstractions;

namespace Persona.Core.Ranking;

/// <summary>
/// An item as recommendations show it: the item, its category keys (every path prefix, root first), and its
/// English and Chinese title and leaf-category names (<c>title_zh</c> and <c>category_path_zh</c> attributes,
/// else the shop's own names).
/// </summary>
public sealed record CatalogEntry(Item Item, IReadOnlyList<string> CategoryKeys, string TitleEn, string TitleZh, string? LeafEn, string? LeafZh)
{
    /// <summary>
    /// The item's product group, as a 64-bit hash of <see cref="ProductGroups.Key"/>: its variants in other colours or sizes
    /// share it. A hash, not the key, because the key is a string as long as the title for every item of the catalog.
    /// </summary>
    public ulong GroupKey { get; init; } = ProductGroups.Hash(Item);

    /// <summary>The item's number in the catalog's item numbering (<see cref="ItemCatalog(State.KeyInterner?)"/>); -1 without one.</summary>
    public int Number { get; init; } = -1;

    public static CatalogEntry From(Item item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var path = item.CategoryPath ?? [];
        var keys = new string[path.Count];
        for (var d = 1; d <= path.Count; d++) keys[d - 1] = CategoryPaths.Key(path, d);
        var title = string.IsNullOrWhiteSpace(item.Title) ? item.Id : item.Title.Trim();
        var titleZh = item.Attributes is not null && item.Attributes.TryGetValue("title_zh", out var tz) && !string.IsNullOrWhiteSpace(tz) ? tz.Trim() : title;
        string? leafEn = path.Count > 0 ? path[^1].Trim() : null;
        var leafZh = leafEn;
        if (leafEn is not null && item.Attributes is not null && item.Attributes.TryGetValue("category_path_zh", out var pz) && !string.IsNullOrWhiteSpace(pz))
        {
            var segments = pz.Split(CategoryPaths.Separator);
            if (segments.Length == path.Count && segments[^1].Trim().Length > 0) leafZh = segments[^1].Trim();
        }
        return new CatalogEntry(item, keys, title, titleZh, leafEn, leafZh);
    }

    /// <summary>
    /// Whether the item is under <paramref name="category"/>: a path prefix key ("Beauty &gt; Makeup") or the
    /// name of any segment of its path, English or Chinese, compared without case.
    /// </summary>
    public bool InCategory(string category)
    {
        foreach (var key in CategoryKeys)
            if (string.Equals(key, category, StringComparison.OrdinalIgnoreCase)) return true;
        foreach (var segment in Item.CategoryPath)
            if (string.Equals(segment.Trim(), category, StringComparison.OrdinalIgnoreCase)) return true;
        if (Item.Attributes is not null && Item.Attributes.TryGetValue("category_path_zh", out var zh))
            foreach (var segment in zh.Split(CategoryPaths.Separator))
                if (string.Equals(segment.Trim(), category, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}

/// <summary>
/// The catalog as recommendations read it; safe for concurrent readers and writers. Items of one category path share
/// one <see cref="CatalogEntry.CategoryKeys"/> list, so per-request work that depends only on the path can be
/// memoised by reference.
/// </summary>
/// <param name="numbering">
/// The process's item numbering (the one the item pairs and popularity use), so per-item scores can be read by
/// <see cref="CatalogEntry.Number"/> from arrays instead of by id from dictionaries; none in tests that need none.
/// </param>
public sealed class ItemCatalog(State.KeyInterner? numbering = null)
{
    private readonly ConcurrentDictionary<string, CatalogEntry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyList<string>> _paths = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    public IEnumerable<CatalogEntry> Entries => _entries.Values;

    public void Upsert(IEnumerable<Item> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        foreach (var item in items)
        {
            var entry = CatalogEntry.From(item);
            entry = entry with
            {
                // The deepest key spells the whole path, so it names the shared list.
                CategoryKeys = entry.CategoryKeys.Count > 0 ? _paths.GetOrAdd(entry.CategoryKeys[^1], entry.CategoryKeys) : entry.CategoryKeys,
                Number = numbering?.Intern(item.Id) ?? -1,
            };
            _entries[item.Id] = entry;
        }
    }

    public bool TryGet(string itemId, [NotNullWhen(true)] out CatalogEntry? entry) => _entries.TryGetValue(itemId, out entry);
}
