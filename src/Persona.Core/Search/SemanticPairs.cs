using Persona.Abstractions;
using Persona.Text;

namespace Persona.Core.Search;

/// <summary>Builds the encoder's training pairs from a catalog and from (query, clicked item) logs.</summary>
public static class SemanticPairs
{
    /// <summary>
    /// Per item: (title, brand + category) when the item has either, and (a random fragment of the title, the whole
    /// item text) as a stand-in for a shopper's short query; per logged click, (query, clicked item text) three times,
    /// since real queries are the best evidence of how shoppers phrase things.
    /// </summary>
    public static List<(string Anchor, string Positive)> Build(
        IEnumerable<Item> items, IEnumerable<(string Query, Item Clicked)>? clicks = null, int seed = 17)
    {
        ArgumentNullException.ThrowIfNull(items);
        var random = new Random(seed);
        var pairs = new List<(string, string)>();
        foreach (var item in items)
        {
            var attributes = SearchFields.AttributeText(item);
            var full = SearchFields.FullText(item);
            if (attributes.Length > 0 && item.Title.Length > 0) pairs.Add((item.Title, attributes));
            if (Fragment(item.Title, random) is { } fragment) pairs.Add((fragment, full));
        }
        if (clicks is not null)
        {
            foreach (var (query, clicked) in clicks)
            {
                var full = SearchFields.FullText(clicked);
                for (var k = 0; k < 3; k++) pairs.Add((query, full));
            }
        }
        return pairs;
    }

    /// <summary>1–3 consecutive words of a Latin title, or 2–6 consecutive characters of a Chinese one.</summary>
    public static string? Fragment(string title, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (string.IsNullOrWhiteSpace(title)) return null;
        var words = title.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length == 1 || words.Count(w => w.Any(TextAnalyzer.IsCjk)) * 2 > words.Length)
        {
            var text = string.Concat(words);
            if (text.Length <= 2) return text;
            var length = random.Next(2, Math.Min(6, text.Length) + 1);
            return text.Substring(random.Next(text.Length - length + 1), length);
        }
        var take = random.Next(1, Math.Min(3, words.Length) + 1);
        return string.Join(' ', words, random.Next(words.Length - take + 1), take);
    }
}
