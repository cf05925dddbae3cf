using Persona.Generative.Summaries;

namespace Persona.Generative.Briefs;

/// <summary>A model's brief, or why it was refused (the template answers then).</summary>
public sealed record BriefVerdict(BriefText? Accepted, string? Rejection);

/// <summary>
/// The checks of <see cref="ProfileSummaryCheck"/> applied to a brief: names and briefs may name no category, brand or
/// trait the group's facts do not hold, the brief must rest on them, and the lengths must fit a list and a line.
/// </summary>
public static class BriefCheck
{
    public const int MaxNameLength = 40;
    public const int MaxBriefLength = 240;

    public static BriefVerdict Check(string? answer, BriefFacts facts, SummaryVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (JsonAnswer.TryReadObject(answer) is not { } json) return Reject("the answer is not a JSON object");
        var nameEn = JsonAnswer.String(json, "name_en");
        var nameZh = JsonAnswer.String(json, "name_zh");
        var briefEn = JsonAnswer.String(json, "brief_en");
        var briefZh = JsonAnswer.String(json, "brief_zh");
        if (nameEn is null || nameZh is null || briefEn is null || briefZh is null) return Reject("the answer lacks a name or a brief in one of the languages");
        if (nameEn.Length > MaxNameLength || nameZh.Length > MaxNameLength) return Reject($"a name is longer than {MaxNameLength} characters");
        if (briefEn.Length > MaxBriefLength || briefZh.Length > MaxBriefLength) return Reject($"a brief is longer than {MaxBriefLength} characters");
        var claims = JsonAnswer.Strings(json, "claims") ?? [];
        var held = facts.Tags.Select(t => t.Key).ToHashSet(StringComparer.Ordinal);
        if (claims.FirstOrDefault(c => !held.Contains(c)) is { } foreign) return Reject($"it claims the tag '{foreign}', which the group's members do not share");
        var summaryFacts = facts.AsSummaryFacts();
        foreach (var (text, english, anchored) in new[] { (nameEn, true, false), (nameZh, false, false), (briefEn, true, true), (briefZh, false, true) })
            if (ProfileSummaryCheck.Problem(text, english, summaryFacts, vocabulary, anchored) is { } problem) return Reject(problem);
        return new BriefVerdict(new BriefText(nameEn, nameZh, briefEn, briefZh, claims.Distinct(StringComparer.Ordinal).ToList()), null);
    }

    private static BriefVerdict Reject(string why) => new(null, why);
}
