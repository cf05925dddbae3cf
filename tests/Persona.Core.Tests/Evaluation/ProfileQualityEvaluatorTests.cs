using Persona.Abstractions;
using Persona.Core.Demo;
using Persona.Core.Evaluation;

namespace Persona.Core.Tests.Evaluation;

public class ProfileQualityEvaluatorTests
{
    private const string Lipstick = "Beauty > Makeup > Lipstick";
    private const string Mascara = "Beauty > Makeup > Mascara";
    private const string Phones = "Electronics > Phones > Smartphones";
    private const string Snacks = "Food > Snacks";
    private const string Tea = "Food > Tea";

    private static DemoTruth Truth(string user, string tier, bool churned = false, bool isNew = false, params string[] top) => new()
    {
        UserId = user,
        TopCategories = top.Length > 0 ? top : [Lipstick, Phones, Snacks],
        PriceTier = tier,
        Churned = churned,
        ChurnedAt = churned ? new DateTimeOffset(2026, 9, 1, 0, 0, 0, TimeSpan.Zero) : null,
        IsNew = isNew,
    };

    private static Affinity A(string key, double score) => new(key, key, key, key.Split(CategoryPaths.Separator).Length, score, 0);

    private static Profile P(string user, string lifecycle, string? tier, params Affinity[] categories) => new()
    {
        UserId = user,
        Traits = new Traits { Rfm = new Rfm(0, 0, 0, 0, 0, 0), Lifecycle = lifecycle, PurchasingPowerTier = tier },
        Affinities = new Affinities { Categories = categories },
    };

    [Fact]
    public void Evaluate_HandMadeProfiles_ExactArithmetic()
    {
        DemoTruth[] truth =
        [
            Truth("a", Tiers.Low, churned: true),
            Truth("b", Tiers.Mid, churned: true),
            Truth("c", Tiers.High),
            Truth("d", Tiers.Low, isNew: true),
            Truth("e", Tiers.Mid),
        ];
        Profile[] profiles =
        [
            // Top-3 leaves by score: Lipstick, Mascara, Phones → 2 of 3 hit. Intermediate levels are not leaves.
            P("a", LifecycleStages.Churned, Tiers.Low,
                A("Beauty", 50), A("Beauty > Makeup", 40), A(Lipstick, 30), A(Mascara, 20), A(Phones, 10), A("Electronics", 10), A("Electronics > Phones", 10), A(Snacks, 5)),
            // One leaf only, a hit → 1/1.
            P("b", LifecycleStages.Active, Tiers.High, A(Snacks, 3)),
            // No categories: left out of precision. Wrongly labelled churned.
            P("c", LifecycleStages.Churned, null),
            // 0 of 2.
            P("d", LifecycleStages.New, Tiers.Low, A(Tea, 2), A(Mascara, 1)),
            P("x", LifecycleStages.Churned, Tiers.Low, A(Lipstick, 1)), // no truth: ignored
        ];

        var report = ProfileQualityEvaluator.Evaluate(profiles, truth);

        Assert.Equal((4, 5, 1), (report.Users, report.TruthUsers, report.MissingProfiles));
        Assert.Equal(3, report.UsersWithCategories);
        Assert.Equal((2.0 / 3 + 1 + 0) / 3, report.TopCategoryPrecisionAt3, 12);
        Assert.Equal((2, 2), (report.ChurnedUsers, report.PredictedChurned));
        Assert.Equal(0.5, report.ChurnRecall, 12);
        Assert.Equal(0.5, report.ChurnPrecision, 12);
        Assert.Equal((1, 1.0), (report.NewUsers, report.NewRecall));
        Assert.Equal(3, report.UsersWithTier);
        Assert.Equal(2.0 / 4, report.PriceTierExactMatch, 12);
        Assert.Equal(2, report.TierConfusion[Tiers.Low][Tiers.Low]);
        Assert.Equal(1, report.TierConfusion[Tiers.Mid][Tiers.High]);
        Assert.Equal(1, report.TierConfusion[Tiers.High][ProfileQualityEvaluator.NoTier]);
        Assert.Equal(4, report.TierConfusion.Values.Sum(r => r.Values.Sum()));
        Assert.False(report.MeetsTargets);
    }

    [Fact]
    public void TopLeafCategories_TiesAndDepth_DeepestByScoreThenKey()
    {
        var top = ProfileQualityEvaluator.TopLeafCategories(
            [A("Food", 9), A(Tea, 4), A(Snacks, 4), A("Beauty > Makeup", 8), A(Lipstick, 1), A(Phones, 2)], 3);

        Assert.Equal([Snacks, Tea, Phones], top);
    }

    [Fact]
    public void Evaluate_NothingMatched_ZeroRatiosNotNaN()
    {
        var report = ProfileQualityEvaluator.Evaluate([], [Truth("a", Tiers.Low)]);

        Assert.Equal((0, 1), (report.Users, report.MissingProfiles));
        Assert.Equal(0, report.TopCategoryPrecisionAt3);
        Assert.Equal(0, report.ChurnPrecision);
        Assert.False(double.IsNaN(report.PriceTierExactMatch));
    }

    [Fact]
    public void Report_MarkdownAndJson_CarryTheFigures()
    {
        var report = ProfileQualityEvaluator.Evaluate(
            [P("a", LifecycleStages.Churned, Tiers.Low, A(Lipstick, 3), A(Phones, 2), A(Snacks, 1)), P("b", LifecycleStages.Active, Tiers.Mid, A(Tea, 1))],
            [Truth("a", Tiers.Low, churned: true), Truth("b", Tiers.Mid)]);

        var markdown = report.ToMarkdown();
        Assert.Contains("| top-category precision@3 | 0.500 | ≥ 0.80 | **below target**", markdown, StringComparison.Ordinal);
        Assert.Contains("| churn recall | 1.000 | ≥ 0.80 | pass", markdown, StringComparison.Ordinal);
        Assert.Contains("| truth \\ profile tier | low | mid | high | none |", markdown, StringComparison.Ordinal);
        Assert.Contains("| low | 1 | 0 | 0 | 0 |", markdown, StringComparison.Ordinal);

        var json = report.ToJson();
        Assert.Contains("\"top_category_precision_at3\": 0.5", json, StringComparison.Ordinal);
        var back = ProfileQualityReport.FromJson(json);
        Assert.Equal((report.Users, report.ChurnRecall, report.PriceTierExactMatch), (back.Users, back.ChurnRecall, back.PriceTierExactMatch));
        Assert.Equal(1, back.TierConfusion[Tiers.Mid][Tiers.Mid]);
    }
}
