namespace Persona.Generative.Summaries;

/// <summary>A summary's sentences and the tag keys they rest on.</summary>
public sealed record SummaryText(string En, string Zh, IReadOnlyList<string> Claims);

/// <summary>The model's summary, or why it was refused (the template answers then).</summary>
public sealed record SummaryVerdict(SummaryText? Accepted, string? Rejection);

/// <summary>
/// Decides whether a model's summary may be shown (docs/generative.md, "checked output"): it must be the JSON asked for,
/// claim only tags the profile holds, name no category or brand of the catalog that the profile does not hold, use no
/// trait's words without holding the trait, and every sentence must rest on something the profile holds.
/// </summary>
public static class ProfileSummaryCheck
{
    public const int MaxLength = 800;

    private static readonly char[] SentenceEnds = ['.', '!', '?', '。', '！', '？', ';', '；', '\n'];

    public static SummaryVerdict Check(string? answer, SummaryFacts facts, SummaryVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (JsonAnswer.TryReadObject(answer) is not { } json) return Reject("the answer is not a JSON object");
        var en = JsonAnswer.String(json, "en");
        var zh = JsonAnswer.String(json, "zh");
        if (en is null || zh is null) return Reject("the answer lacks the English or the Chinese summary");
        if (en.Length > MaxLength || zh.Length > MaxLength) return Reject($"a summary is longer than {MaxLength} characters");
        if (JsonAnswer.Strings(json, "claims") is not { } claims) return Reject("the answer lacks its claims");
        var held = facts.Tags.Select(t => t.Key).ToHashSet(StringComparer.Ordinal);
        if (claims.FirstOrDefault(c => !held.Contains(c)) is { } foreign) return Reject($"it claims the tag '{foreign}', which the profile does not hold");

        foreach (var (text, english) in new[] { (en, true), (zh, false) })
        {
            if (Problem(text, english, facts, vocabulary) is { } problem) return Reject(problem);
        }
        return new SummaryVerdict(new SummaryText(en, zh, claims.Distinct(StringComparer.Ordinal).ToList()), null);
    }

    /// <summary>
    /// Why <paramref name="text"/> may not be shown with <paramref name="facts"/>, or null: it names something of the
    /// catalog or the tag rules that the facts do not hold, or (with <paramref name="anchored"/>) one of its sentences
    /// rests on nothing the facts hold.
    /// </summary>
    public static string? Problem(string text, bool english, SummaryFacts facts, SummaryVocabulary vocabulary, bool anchored = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(vocabulary);
        var heldNames = HeldNames(facts).ToList();
        var heldTraits = facts.Tags.Where(t => TraitTerms.ByTag.ContainsKey(t.Key)).ToList();
        var traitWords = heldTraits.SelectMany(t => Words(t.Key, english).Append(english ? t.En : t.Zh)).ToList();

        // What is left once the profile's own names are blanked out must name nothing else the catalog or the tag rules know.
        var rest = TextMatch.Mask(text, heldNames.Concat(traitWords));
        foreach (var (name, brand) in vocabulary.Names)
            if (TextMatch.Mentions(rest, name, matchCase: brand)) return $"it names '{name}', which the profile does not hold";
        foreach (var (key, _) in TraitTerms.ByTag)
        {
            if (heldTraits.Any(t => t.Key == key)) continue;
            if (Words(key, english).FirstOrDefault(w => TextMatch.Mentions(rest, w)) is { } word)
                return $"it says '{word}', a trait ({key}) the profile does not hold";
        }

        if (!anchored) return null;
        var sentences = text.Split(SentenceEnds, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(s => s.Any(char.IsLetter)).ToList();
        if (sentences.Count == 0) return "a summary has no sentence";
        var anchors = heldNames.Concat(traitWords).ToList();
        for (var i = 0; i < sentences.Count; i++)
            if (!anchors.Any(a => TextMatch.Mentions(sentences[i], a)))
                return $"sentence {i + 1} of the {(english ? "English" : "Chinese")} summary rests on none of the profile's tags";
        return null;
    }

    /// <summary>Names the profile holds: its categories, brands, tag labels (and their subjects) and the titles sent.</summary>
    private static IEnumerable<string> HeldNames(SummaryFacts facts)
    {
        foreach (var c in facts.Categories.Concat(facts.Brands))
        {
            yield return c.En;
            yield return c.Zh;
        }
        foreach (var t in facts.Tags)
        {
            yield return t.En;
            yield return t.Zh;
        }
        foreach (var title in facts.Titles) yield return title;
    }

    private static IEnumerable<string> Words(string key, bool english) =>
        TraitTerms.ByTag.TryGetValue(key, out var words) ? english ? words.En : words.Zh : [];

    private static SummaryVerdict Reject(string why) => new(null, why);
}
