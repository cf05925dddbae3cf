using System.Text;
using System.Text.RegularExpressions;
using Persona.Abstractions;

namespace Persona.Core.Ranking;

/// <summary>
/// Which items are variants of one product (the same thing in another colour or size), so a list can show one of them.
/// The key is, first that applies:
/// <list type="number">
/// <item>the shop's own group: the item attribute <c>group_id</c>, <c>product_group</c>, <c>item_group_id</c> or <c>parent_id</c>;</item>
/// <item>else brand, leaf category and the title with the item's own variant attributes (<c>variant</c>, <c>color</c>,
/// <c>colour</c>, <c>size</c> and their <c>_zh</c> forms) taken out, when it has any;</item>
/// <item>else brand, leaf category and the title without colour words and size tokens (S–XXL, 3.5g, 30ml, 128GB,
/// 42mm, 1.8m, …), compared without case.</item>
/// </list>
/// Bare numbers stay in the title ("Lipstick 1" and "Lipstick 2" are different products), and so does everything else.
/// </summary>
public static partial class ProductGroups
{
    /// <summary>Attributes that name the shop's own product group, in the order they are read.</summary>
    public static IReadOnlyList<string> GroupAttributes { get; } = ["group_id", "product_group", "item_group_id", "parent_id"];

    /// <summary>Attributes whose values are what variants differ in.</summary>
    public static IReadOnlyList<string> VariantAttributes { get; } =
        ["variant", "variant_zh", "color", "color_zh", "colour", "colour_zh", "size", "size_zh"];

    [GeneratedRegex(@"\b(?:black|white|red|blue|green|yellow|pink|purple|orange|grey|gray|silver|gold|navy|beige|brown|nude|coral|rose|ivory|khaki|(?:xx?|[2-4]x)?[sl]|m|xs|xxs|xxl|\d+(?:\.\d+)?\s*(?:g|kg|mg|ml|l|oz|gb|tb|mm|cm|m|inch|in|pcs|pack|packs))\b|黑色|白色|红色|正红|蓝色|绿色|黄色|粉色|紫色|灰色|银色|金色|藏青|米色|棕色|裸色|珊瑚", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex ColourAndSize();

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Spaces();

    /// <summary>The item's product-group key (see the type's summary).</summary>
    public static string Key(Item item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var attributes = item.Attributes;
        if (attributes is not null)
            foreach (var name in GroupAttributes)
                if (attributes.TryGetValue(name, out var group) && !string.IsNullOrWhiteSpace(group)) return "g\u001f" + group.Trim();
        var title = (string.IsNullOrWhiteSpace(item.Title) ? item.Id : item.Title).ToLowerInvariant();
        var stripped = false;
        if (attributes is not null)
            foreach (var name in VariantAttributes)
                if (attributes.TryGetValue(name, out var value) && value.Trim() is { Length: > 0 } v)
                {
                    title = RemoveWord(title, v.ToLowerInvariant());
                    stripped = true;
                }
        if (!stripped) title = ColourAndSize().Replace(title, " ");
        var leaf = item.CategoryPath.Count > 0 ? CategoryPaths.Key(item.CategoryPath, item.CategoryPath.Count) : "";
        return new StringBuilder("t\u001f").Append(item.Brand?.Trim().ToLowerInvariant()).Append('\u001f').Append(leaf).Append('\u001f')
            .Append(Spaces().Replace(title, " ").Trim()).ToString();
    }

    /// <summary>A 64-bit hash of <see cref="Key"/>, the same in every process.</summary>
    public static ulong Hash(Item item) =>
        System.IO.Hashing.XxHash64.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Key(item).AsSpan()));

    /// <summary>Removes <paramref name="word"/> where it stands as a whole word (or anywhere, for text without spaces such as Chinese).</summary>
    private static string RemoveWord(string text, string word)
    {
        var at = 0;
        while ((at = text.IndexOf(word, at, StringComparison.Ordinal)) >= 0)
        {
            var end = at + word.Length;
            var before = at == 0 || !char.IsLetterOrDigit(text[at - 1]) || !char.IsAscii(text[at - 1]);
            var after = end == text.Length || !char.IsLetterOrDigit(text[end]) || !char.IsAscii(text[end]);
            if (before && after)
            {
                text = string.Concat(text.AsSpan(0, at), " ", text.AsSpan(end));
                continue;
            }
            at = end;
        }
        return text;
    }
}
