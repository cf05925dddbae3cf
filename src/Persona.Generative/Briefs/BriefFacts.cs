using System.Security.Cryptography;
using System.Text;
using Persona.Generative.Summaries;

namespace Persona.Generative.Briefs;

/// <summary>
/// What a segment's or an audience's brief rests on, and all that is sent: the group's dominant tags and categories with
/// the share of its members holding each, and the name it has (a segment's computed label, an audience's rule name).
/// No member id, count or single shopper's data is in it.
/// </summary>
/// <param name="Kind"><c>segment</c> or <c>audience</c>.</param>
/// <param name="NameEn">The group's present name (English); null when it has none.</param>
/// <param name="NameZh">The group's present name (Chinese).</param>
/// <param name="Tags">Dominant tags; <see cref="FactTag.Confidence"/> holds the share of members with the tag.</param>
/// <param name="Categories">Dominant categories; <see cref="FactLabel.Share"/> the share of members whose top interest it is.</param>
public sealed record BriefFacts(string Kind, string? NameEn, string? NameZh, IReadOnlyList<FactTag> Tags, IReadOnlyList<FactLabel> Categories)
{
    public const int MaxTags = 6;
    public const int MaxCategories = 4;

    /// <summary>A tag is dominant when at least this share of the members hold it.</summary>
    public const double MinShare = 0.2;

    /// <summary>The group's tags as its members hold them: the most shared first, those of at least <see cref="MinShare"/>.</summary>
    public static IReadOnlyList<FactTag> Dominant(IEnumerable<(FactTag Tag, int Members)> counts, int members)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (members <= 0) return [];
        return counts.Select(c => c.Tag with { Confidence = Math.Round((double)c.Members / members, 2) })
            .Where(t => t.Confidence >= MinShare)
            .OrderByDescending(t => t.Confidence).ThenBy(t => t.Key, StringComparer.Ordinal)
            .Take(MaxTags)
            .ToList();
    }

    /// <summary>The dominant tags (rounded to tenths) and categories: a brief is written again when these change, not with every member.</summary>
    public string Signature
    {
        get
        {
            var text = string.Join('\n', Tags.Select(t => $"{t.Key}:{Math.Round(t.Confidence, 1)}").Concat(Categories.Select(c => c.En)).Append(NameEn ?? ""));
            return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)), 0, 8).ToLowerInvariant();
        }
    }

    /// <summary>The facts a brief's sentence is checked against.</summary>
    public SummaryFacts AsSummaryFacts() => new(Tags, Categories, [], NameEn is null ? [] : [NameEn, NameZh ?? NameEn]);
}

/// <summary>A brief: a short name and a one-line marketing brief, in both languages, and the tags it rests on.</summary>
public sealed record BriefText(string NameEn, string NameZh, string BriefEn, string BriefZh, IReadOnlyList<string> Claims);
