using System.Globalization;
using Persona.Abstractions;

namespace Persona.Core.Models.Sequence;

/// <summary>
/// Item ids and attribute tokens as the sequence model indexes them. Item index 0 is padding; items are 1..<see cref="ItemCount"/>.
/// Attribute tokens (brand, every category-path prefix, and the ids listed under <see cref="AttributeListKey"/>) are
/// 1..<see cref="AttributeCount"/>, 0 is padding.
/// </summary>
public sealed class SequenceVocabulary
{
    /// <summary>Item attribute holding a comma-separated list of anonymous attribute ids (data sets without names).</summary>
    public const string AttributeListKey = "attributes";

    /// <summary>Most attribute tokens kept per item (brand first, then the category path from the root).</summary>
    public const int MaxAttributesPerItem = 8;

    private readonly Dictionary<string, int> _itemIndex;
    private readonly Dictionary<string, int> _attributeIndex;

    public SequenceVocabulary(IReadOnlyList<string> itemIds, IReadOnlyList<string> attributeTokens)
    {
        ItemIds = itemIds;
        AttributeTokens = attributeTokens;
        _itemIndex = new Dictionary<string, int>(itemIds.Count, StringComparer.Ordinal);
        for (var i = 0; i < itemIds.Count; i++) _itemIndex.Add(itemIds[i], i + 1);
        _attributeIndex = new Dictionary<string, int>(attributeTokens.Count, StringComparer.Ordinal);
        for (var i = 0; i < attributeTokens.Count; i++) _attributeIndex.Add(attributeTokens[i], i + 1);
    }

    /// <summary>Item ids in index order (index = position + 1).</summary>
    public IReadOnlyList<string> ItemIds { get; }

    /// <summary>Attribute tokens in index order (index = position + 1).</summary>
    public IReadOnlyList<string> AttributeTokens { get; }

    public int ItemCount => ItemIds.Count;

    public int AttributeCount => AttributeTokens.Count;

    /// <summary>1-based index of an item id, or 0 when unknown.</summary>
    public int ItemIndex(string? itemId) => itemId is not null && _itemIndex.TryGetValue(itemId, out var i) ? i : 0;

    /// <summary>Item id of a 1-based index.</summary>
    public string ItemId(int index) => ItemIds[index - 1];

    /// <summary>Known attribute token indices of an item (at most <see cref="MaxAttributesPerItem"/>).</summary>
    public int[] AttributeIndices(Item item)
    {
        var result = new List<int>(MaxAttributesPerItem);
        foreach (var token in Tokens(item))
        {
            if (_attributeIndex.TryGetValue(token, out var a) && !result.Contains(a)) result.Add(a);
            if (result.Count == MaxAttributesPerItem) break;
        }
        return [.. result];
    }

    /// <summary>
    /// The attribute tokens of an item: <c>b:brand</c>, <c>c1:Makeup</c>, <c>c2:Makeup &gt; Nails</c>, …, and
    /// <c>a:id</c> for each id under <see cref="AttributeListKey"/>. Case-insensitive names.
    /// </summary>
    public static IEnumerable<string> Tokens(Item item)
    {
        if (!string.IsNullOrWhiteSpace(item.Brand)) yield return "b:" + item.Brand.Trim().ToLowerInvariant();
        for (var depth = 1; depth <= item.CategoryPath.Count; depth++)
            yield return "c" + depth.ToString(CultureInfo.InvariantCulture) + ":" + CategoryPaths.Key(item.CategoryPath, depth).ToLowerInvariant();
        if (item.Attributes.TryGetValue(AttributeListKey, out var list))
        {
            foreach (var a in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                yield return "a:" + a;
        }
    }

    /// <summary>A vocabulary over the given item ids (ordinal order) and the attribute tokens of the catalog (ordinal order).</summary>
    public static SequenceVocabulary Build(IEnumerable<string> itemIds, IEnumerable<Item> catalog)
    {
        var ids = itemIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var tokens = catalog.SelectMany(Tokens).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return new SequenceVocabulary(ids, tokens);
    }
}
