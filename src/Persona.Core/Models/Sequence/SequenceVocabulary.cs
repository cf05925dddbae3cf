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

    /// <summary>Most attribute tokens kept per item (brand first, then the category path from the root, then title words).</summary>
    public const int MaxAttributesPerItem = 16;

    /// <summary>A title word becomes a token only when at least this many catalog items share it (a word of one item says nothing its id does not).</summary>
    public const int MinTitleWordItems = 2;

    /// <summary>
    /// ... and only when at most this share of the catalog has it: a word in most titles (a shop's name, a placeholder
    /// title such as "Taobao item 123") tells items apart no better than a stop word. Beauty's commonest word is in 8.8 %.
    /// </summary>
    public const double MaxTitleWordShare = 0.2;

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
    /// The attribute tokens of an item: <c>b:brand</c>, <c>c1:Makeup</c>, <c>c2:Makeup &gt; Nails</c>, …,
    /// <c>a:id</c> for each id under <see cref="AttributeListKey"/>, and <c>w:word</c> for the words of its title
    /// (lower case; a run of Chinese, Japanese or Korean characters gives its character pairs). Case-insensitive names.
    /// </summary>
    public static IEnumerable<string> Tokens(Item item)
    {
        foreach (var token in NamedTokens(item)) yield return token;
        foreach (var word in TitleWords(item.Title)) yield return "w:" + word;
    }

    private static IEnumerable<string> NamedTokens(Item item)
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

    /// <summary>Distinct title words: letters and digits in lower case, two characters or more; CJK runs as character pairs.</summary>
    public static IEnumerable<string> TitleWords(string? title)
    {
        if (string.IsNullOrWhiteSpace(title)) yield break;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var text = title.ToLowerInvariant();
        var i = 0;
        while (i < text.Length)
        {
            if (IsCjk(text[i]))
            {
                var start = i;
                while (i < text.Length && IsCjk(text[i])) i++;
                for (var j = start; j + 1 < i; j++)
                    if (seen.Add(text.Substring(j, 2))) yield return text.Substring(j, 2);
            }
            else if (char.IsLetterOrDigit(text[i]))
            {
                var start = i;
                while (i < text.Length && char.IsLetterOrDigit(text[i]) && !IsCjk(text[i])) i++;
                if (i - start >= 2 && i - start <= 24 && seen.Add(text[start..i])) yield return text[start..i];
            }
            else
            {
                i++;
            }
        }
    }

    private static bool IsCjk(char c) => c is >= '\u3040' and <= '\u30ff' or >= '\u3400' and <= '\u9fff' or >= '\uac00' and <= '\ud7af' or >= '\uf900' and <= '\ufaff';

    /// <summary>
    /// A vocabulary over the given item ids (ordinal order) and the attribute tokens of the catalog (ordinal order);
    /// title words only when <see cref="MinTitleWordItems"/> items or more share them and no more than
    /// <see cref="MaxTitleWordShare"/> of the catalog.
    /// </summary>
    public static SequenceVocabulary Build(IEnumerable<string> itemIds, IEnumerable<Item> catalog)
    {
        var ids = itemIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var items = catalog as IReadOnlyCollection<Item> ?? catalog.ToList();
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in items)
            foreach (var word in TitleWords(item.Title))
                words[word] = words.GetValueOrDefault(word) + 1;
        var tokens = items.SelectMany(NamedTokens)
            .Concat(words.Where(w => w.Value >= MinTitleWordItems && w.Value <= Math.Max(MinTitleWordItems, MaxTitleWordShare * items.Count)).Select(w => "w:" + w.Key))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return new SequenceVocabulary(ids, tokens);
    }
}
