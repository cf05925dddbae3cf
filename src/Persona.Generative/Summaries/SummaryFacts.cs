using System.Security.Cryptography;
using System.Text;
using Persona.Abstractions;

namespace Persona.Generative.Summaries;

/// <summary>A tag as the model sees it: key, kind and labels, never its evidence's event ids.</summary>
public sealed record FactTag(string Key, string Kind, string En, string Zh, double Confidence);

/// <summary>A category or brand the profile holds, with its share among its siblings.</summary>
public sealed record FactLabel(string En, string Zh, double Share);

/// <summary>
/// Everything a summary may rest on, and all that is sent: the profile's tags, its strongest categories and brands,
/// and titles of items behind its tags. No user id, event id or attribute of the shopper is in it.
/// </summary>
public sealed record SummaryFacts(
    IReadOnlyList<FactTag> Tags, IReadOnlyList<FactLabel> Categories, IReadOnlyList<FactLabel> Brands, IReadOnlyList<string> Titles)
{
    public const int MaxCategories = 6;
    public const int MaxBrands = 3;
    public const int MaxTitles = 5;
    public const int MaxTitleLength = 80;

    /// <summary>The facts of <paramref name="profile"/>; <paramref name="titles"/> are titles of items behind its tags.</summary>
    public static SummaryFacts From(Profile profile, IEnumerable<string> titles)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(titles);
        var tags = profile.Tags.Select(t => new FactTag(t.Key, t.Kind, t.LabelEn, t.LabelZh, Math.Round(t.Confidence, 2))).ToList();
        // The categories and brands the tags are about come first, so a sentence may name them as the tag does.
        var tagged = profile.Tags.Select(t => t.Key).ToHashSet(StringComparer.Ordinal);
        var categories = Labels(profile.Affinities.Categories, "category:", tagged, MaxCategories);
        var brands = Labels(profile.Affinities.Brands, "brand:", tagged, MaxBrands);
        var kept = titles.Where(t => !string.IsNullOrWhiteSpace(t))
            .Select(t => t.Trim())
            .Select(t => t.Length > MaxTitleLength ? t[..MaxTitleLength] : t)
            .Distinct(StringComparer.Ordinal)
            .Take(MaxTitles)
            .ToList();
        return new SummaryFacts(tags, categories, brands, kept);
    }

    private static List<FactLabel> Labels(IReadOnlyList<Affinity> affinities, string tagPrefix, HashSet<string> tagged, int max) =>
        affinities
            .OrderByDescending(a => tagged.Contains(tagPrefix + a.Key))
            .ThenByDescending(a => a.Score)
            .Take(Math.Max(max, affinities.Count(a => tagged.Contains(tagPrefix + a.Key))))
            .Select(a => new FactLabel(a.LabelEn, a.LabelZh, Math.Round(a.Share, 2)))
            .ToList();

    /// <summary>
    /// What makes a change material: the set of tag keys. A profile whose tags did not change keeps its summary however
    /// many events arrive; one that gains or loses a tag is summarised again.
    /// </summary>
    public string Signature
    {
        get
        {
            var keys = string.Join('\n', Tags.Select(t => t.Key).Order(StringComparer.Ordinal));
            return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(keys)), 0, 8).ToLowerInvariant();
        }
    }
}
