using System.Globalization;
using System.Text;
using System.Text.Json;
using Persona.Abstractions;

namespace Persona.Core.Evaluation;

/// <summary>How well profiles recover the demo shop's latent truth. Ratios are 0..1 (0 when their denominator is 0).</summary>
public sealed record ProfileQualityReport
{
    public const double TargetTopCategoryPrecisionAt3 = 0.8;
    public const double TargetChurnRecall = 0.8;
    public const double TargetPriceTierExactMatch = 0.7;

    /// <summary>Users with both a profile and truth: the population every ratio is over.</summary>
    public int Users { get; init; }
    public int TruthUsers { get; init; }
    /// <summary>Users in the truth without a profile (e.g. no consent for personalisation).</summary>
    public int MissingProfiles { get; init; }
    public int UsersWithCategories { get; init; }
    public double TopCategoryPrecisionAt3 { get; init; }
    public int ChurnedUsers { get; init; }
    public int PredictedChurned { get; init; }
    public double ChurnRecall { get; init; }
    public double ChurnPrecision { get; init; }
    public int NewUsers { get; init; }
    /// <summary>Share of truly new users whose lifecycle is <c>new</c>.</summary>
    public double NewRecall { get; init; }
    public int UsersWithTier { get; init; }
    public double PriceTierExactMatch { get; init; }
    /// <summary>Truth tier → profile tier (or <c>none</c>) → users.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> TierConfusion { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, int>>();

    public bool MeetsTargets =>
        TopCategoryPrecisionAt3 >= TargetTopCategoryPrecisionAt3 && ChurnRecall >= TargetChurnRecall && PriceTierExactMatch >= TargetPriceTierExactMatch;

    private static readonly JsonSerializerOptions IndentedJson = new(PersonaJson.Options) { WriteIndented = true };

    /// <summary>The report as indented snake_case JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, IndentedJson);

    public static ProfileQualityReport FromJson(string json) =>
        JsonSerializer.Deserialize<ProfileQualityReport>(json, PersonaJson.Options) ?? throw new JsonException("The report JSON is null.");

    /// <summary>A Markdown summary: metrics against their targets, then the tier confusion matrix.</summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(c, $"Profile quality over {Users:N0} users ({MissingProfiles:N0} of {TruthUsers:N0} without a profile).");
        md.AppendLine();
        md.AppendLine("| metric | value | target | |");
        md.AppendLine("|---|---:|---:|---|");
        Metric("top-category precision@3", TopCategoryPrecisionAt3, TargetTopCategoryPrecisionAt3, $"{UsersWithCategories:N0} users with categories");
        Metric("churn recall", ChurnRecall, TargetChurnRecall, $"{ChurnedUsers:N0} churned");
        Metric("churn precision", ChurnPrecision, null, $"{PredictedChurned:N0} labelled churned");
        Metric("new-user recall", NewRecall, null, $"{NewUsers:N0} new");
        Metric("price tier exact match", PriceTierExactMatch, TargetPriceTierExactMatch, $"{UsersWithTier:N0} users with a tier");
        md.AppendLine();

        var columns = TierConfusion.Values.SelectMany(r => r.Keys).Distinct(StringComparer.Ordinal)
            .OrderBy(k => k == ProfileQualityEvaluator.NoTier ? 1 : 0).ThenBy(TierOrder).ToArray();
        md.AppendLine(c, $"| truth \\ profile tier | {string.Join(" | ", columns)} |");
        md.AppendLine(c, $"|---|{string.Concat(columns.Select(_ => "---:|"))}");
        foreach (var (truthTier, row) in TierConfusion.OrderBy(r => TierOrder(r.Key)))
            md.AppendLine(c, $"| {truthTier} | {string.Join(" | ", columns.Select(k => row.TryGetValue(k, out var n) ? n.ToString("N0", c) : "0"))} |");
        return md.ToString();

        void Metric(string name, double value, double? target, string note)
        {
            var verdict = target is null ? note : value >= target ? $"pass; {note}" : $"**below target**; {note}";
            md.AppendLine(c, $"| {name} | {value:0.000} | {(target is null ? "" : $"≥ {target:0.00}")} | {verdict} |");
        }
    }

    private static int TierOrder(string tier) => tier switch
    {
        Tiers.Low => 0,
        Tiers.Mid => 1,
        Tiers.High => 2,
        _ => 3,
    };
}
