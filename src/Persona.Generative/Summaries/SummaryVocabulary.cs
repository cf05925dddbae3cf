namespace Persona.Generative.Summaries;

/// <summary>
/// The catalog's names (every category label and brand, in both languages) a summary is checked against: naming one the
/// profile does not hold is how a model's invention shows. Build once per catalog version; reading is thread-safe.
/// </summary>
public sealed class SummaryVocabulary
{
    /// <summary>Shorter names match too much ("Tea" in "Teal", "油" in every other word) to judge anything by.</summary>
    public const int MinLatinLength = 3;
    public const int MinCjkLength = 2;

    private SummaryVocabulary(IReadOnlyList<(string Name, bool Brand)> names) => Names = names;

    public static SummaryVocabulary Empty { get; } = new([]);

    /// <summary>
    /// Distinct names long enough to check, longest first. Brands are matched in their own case ("Fresh" the brand, not
    /// "fresh" the word); categories in any case ("makeup" is Makeup).
    /// </summary>
    public IReadOnlyList<(string Name, bool Brand)> Names { get; }

    public static SummaryVocabulary Create(IEnumerable<string> categoryLabels, IEnumerable<string> brandLabels)
    {
        ArgumentNullException.ThrowIfNull(categoryLabels);
        ArgumentNullException.ThrowIfNull(brandLabels);
        var names = categoryLabels.Select(n => (Name: n, Brand: false)).Concat(brandLabels.Select(n => (Name: n, Brand: true)))
            .Where(n => !string.IsNullOrWhiteSpace(n.Name))
            .Select(n => (Name: n.Name.Trim(), n.Brand))
            .Where(n => n.Name.Length >= (TextMatch.HasCjk(n.Name) ? MinCjkLength : MinLatinLength))
            .DistinctBy(n => n.Name, StringComparer.Ordinal)
            .OrderByDescending(n => n.Name.Length)
            .ToList();
        return new SummaryVocabulary(names);
    }
}

/// <summary>How a name is found in a text: Latin names as whole words (any case), Chinese ones anywhere.</summary>
public static class TextMatch
{
    public static bool HasCjk(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var c in text)
            if (c is >= '\u3400' and <= '\u9fff' or >= '\uf900' and <= '\ufaff') return true;
        return false;
    }

    public static bool Mentions(string text, string name, bool matchCase = false) => Find(text, name, matchCase).Any();

    /// <summary>Where <paramref name="name"/> occurs in <paramref name="text"/>, as a whole word unless it is Chinese.</summary>
    public static IEnumerable<int> Find(string text, string name, bool matchCase = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0) yield break;
        var cjk = HasCjk(name);
        var comparison = matchCase || cjk ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        for (var at = text.IndexOf(name, comparison); at >= 0; at = at + 1 < text.Length ? text.IndexOf(name, at + 1, comparison) : -1)
        {
            var end = at + name.Length;
            if (cjk || ((at == 0 || !char.IsLetterOrDigit(text[at - 1])) && (end == text.Length || !char.IsLetterOrDigit(text[end]))))
                yield return at;
        }
    }

    /// <summary><paramref name="text"/> with every occurrence of <paramref name="names"/> blanked out (any case), so what is left can be checked on its own.</summary>
    public static string Mask(string text, IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var chars = text.ToCharArray();
        var current = text;
        foreach (var name in names.Where(n => n.Length > 0).OrderByDescending(n => n.Length))
        {
            foreach (var at in Find(current, name).ToList())
                for (var i = at; i < at + name.Length; i++) chars[i] = ' ';
            current = new string(chars);
        }
        return current;
    }
}
