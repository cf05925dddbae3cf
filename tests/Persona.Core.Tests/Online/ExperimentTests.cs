using Persona.Core.Online;
using Persona.Core.Ranking;
using OnlineInterval = Persona.Core.Online.Interval;

namespace Persona.Core.Tests.Online;

public class ExperimentTests
{
    private static Experiment Make(params (string Name, double Traffic)[] variants) => new()
    {
        Id = "exp-1",
        Name = "Test",
        Surface = OnlineSurface.Recommendations,
        Variants = [.. variants.Select(v => new ExperimentVariant(v.Name, v.Traffic, new Strategy()))],
    };

    [Fact]
    public void Buckets_AreFixedByExperimentAndShopper_NotByProcess()
    {
        // Pinned: a change here would move every running experiment's shoppers between variants.
        Assert.Equal(Experiment.Bucket("exp-1", "alice"), Experiment.Bucket("exp-1", "alice"));
        Assert.Equal(PinnedBuckets, new[] { "alice", "bob", "u-1", "u-2" }.Select(s => Experiment.Bucket("exp-1", s)).ToArray());
    }

    // Computed in Python from the definition (FNV-1a over the UTF-16 units of "exp-1\u001f" + shopper, then MurmurHash3's
    // fmix32, mod 10,000):
    //   def b(s):
    //       h = 2166136261
    //       for ch in "exp-1\x1f" + s: h = ((h ^ ord(ch)) * 16777619) & 0xffffffff
    //       h ^= h >> 16; h = (h * 0x85ebca6b) & 0xffffffff; h ^= h >> 13; h = (h * 0xc2b2ae35) & 0xffffffff; h ^= h >> 16
    //       return h % 10000
    private static readonly int[] PinnedBuckets = [6547, 7395, 2101, 4890];

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.1)]
    [InlineData(0.9)]
    public void Assignment_SplitsTrafficAsAsked(double share)
    {
        var experiment = Make(("a", share), ("b", 1 - share));
        var inA = Enumerable.Range(0, 20_000).Count(i => experiment.Assign($"shopper-{i}").Name == "a");
        // Binomial standard deviation at 20,000 is at most 0.0035: four of them.
        Assert.InRange(inA / 20_000.0, share - 0.014, share + 0.014);
    }

    [Fact]
    public void Assignment_IsIndependentAcrossExperiments()
    {
        var first = Make(("a", 0.5), ("b", 0.5));
        var second = first with { Id = "exp-2" };
        var same = Enumerable.Range(0, 20_000).Count(i => first.Assign($"s{i}").Name == second.Assign($"s{i}").Name);
        Assert.InRange(same / 20_000.0, 0.486, 0.514);
    }

    [Fact]
    public void Validate_NamesEachWrongField()
    {
        var bad = new Experiment
        {
            Id = "Bad Id",
            Name = "",
            Surface = OnlineSurface.Search,
            MinSample = 0,
            Variants =
            [
                new ExperimentVariant("a", 0.5, new Strategy { Sources = new Dictionary<string, double> { ["popularity"] = 1, ["magic"] = 1 } }),
                new ExperimentVariant("a", 0, new Strategy { Diversity = 2 }),
            ],
        };
        var fields = bad.Validate().Select(e => e.Field).ToHashSet();
        Assert.Superset(new HashSet<string> { "id", "name", "min_sample", "variants[0].strategy.sources.magic", "variants[1].name", "variants[1].traffic", "variants[1].strategy.diversity" }, fields);
        Assert.Contains(Make(("a", 0.5), ("b", 0.4)).Validate(), e => e.Field == "variants" && e.Message.Contains("add up to 1", StringComparison.Ordinal));
        Assert.Empty(Make(("a", 0.5), ("b", 0.5)).Validate());
        Assert.Contains(Make(("only", 1)).Validate(), e => e.Field == "variants");
    }

    [Fact]
    public void AStrategysSources_BecomeTheBlend_LeftOutSourcesWeighNothing()
    {
        var weights = new Strategy { Sources = new Dictionary<string, double> { [RecommendationSources.Popularity] = 1 } }.Weights!;
        Assert.Equal(new SourceWeights(0, 0, 0, 1, 0, 0), weights);
        Assert.Null(new Strategy().Weights);
    }

    [Fact]
    public void Report_TestsEachVariantAgainstTheControl_AndWarnsBelowTheMinimumSample()
    {
        var experiment = Make(("control", 0.5), ("treatment", 0.5)) with { MinSample = 1500 };
        var counts = new Dictionary<string, OnlineCounts>
        {
            ["exp-1/control"] = new() { Served = 3000, Impressions = 1000, Clicks = 120, Purchases = 30, Revenue = 600, RevenueSquares = 30 * 400 },
            ["exp-1/treatment"] = new() { Served = 3000, Impressions = 2000, Clicks = 300, Purchases = 80, Revenue = 2000, RevenueSquares = 80 * 625 },
        };
        var report = ExperimentReport.Of(experiment, label => counts.GetValueOrDefault(label));

        var control = report.Variants[0];
        Assert.Null(control.VsControl);
        Assert.NotNull(control.Warning); // 1,000 impressions < 1,500
        Assert.Contains("1,500", control.Warning!.En, StringComparison.Ordinal);
        Assert.Contains("最小样本量", control.Warning.Zh, StringComparison.Ordinal);
        var treatment = report.Variants[1];
        Assert.Null(treatment.Warning);
        Assert.Equal(Significance.TwoProportion(120, 1000, 300, 2000), treatment.VsControl!.Ctr);
        Assert.Equal(Significance.TwoProportion(30, 1000, 80, 2000), treatment.VsControl.Conversion);
        Assert.Equal(Significance.Welch(1000, 600, 12_000, 2000, 2000, 50_000), treatment.VsControl.RevenuePerImpression);
        Assert.Equal(0.15, treatment.Figures.Ctr.Estimate, 12);
        Assert.Equal(new OnlineInterval(1000, 1000 * Significance.MeanInterval(2000, 2000, 50_000).Low, 1000 * Significance.MeanInterval(2000, 2000, 50_000).High),
            treatment.Figures.RevenuePerThousand);
        Assert.Null(report.Excluded);
        Assert.Contains("treatment: CTR 15.00", report.Summary, StringComparison.Ordinal);
    }
}
