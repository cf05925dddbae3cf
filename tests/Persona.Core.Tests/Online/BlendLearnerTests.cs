using Persona.Core.Online;
using Persona.Core.Ranking;

namespace Persona.Core.Tests.Online;

public class BlendLearnerTests
{
    private static readonly SourceWeights Configured = new(1, 0.8, 0.4, 0.2, 0.3, 0.5);
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-12-08T12:00:00Z");

    private static OnlineCountsRow Row(string source, string position, long impressions, long clicks) =>
        new(null, source, position, null, null, new OnlineCounts { Served = impressions, Impressions = impressions, Clicks = clicks });

    [Fact]
    public void ASourceClickedMoreThanItsPositionsPredict_GainsWeight_AndOneClickedLess_Loses()
    {
        var fit = BlendLearner.Fit(
        [
            Row("model", "1", 10_000, 2_000), Row("popularity", "1", 10_000, 1_000),
            Row("model", "4-10", 10_000, 600), Row("popularity", "4-10", 10_000, 200),
        ], Configured, Now.AddDays(-1), Now);

        var model = fit.Sources.Single(s => s.Source == "model");
        var popularity = fit.Sources.Single(s => s.Source == "popularity");
        // Position 1's CTR is 15 %, positions 4-10's 4 %: model expects 1,500 + 400 clicks and got 2,600.
        Assert.Equal(1900, model.Expected, 6);
        Assert.Equal((2600 + 20) / (1900 + 20.0), model.Lift, 4);
        Assert.True(popularity.Lift < 1);
        Assert.Equal(Configured.Model * model.Factor, fit.Weights.Model, 9);
        Assert.Equal(Configured.Popularity * popularity.Factor, fit.Weights.Popularity, 9);
        // Sources without data keep their weight.
        Assert.Equal(Configured.Segment, fit.Weights.Segment);
        Assert.Equal(40_000, fit.Shown);
    }

    [Fact]
    public void PositionAloneEarnsNoCredit()
    {
        // The model fills the first slot and popularity the rest; each does exactly as well as its positions do.
        var fit = BlendLearner.Fit([Row("model", "1", 5_000, 1_000), Row("popularity", "4-10", 5_000, 100)], Configured, Now.AddDays(-1), Now);
        Assert.All(fit.Sources, s => Assert.Equal(1, s.Lift, 9));
        Assert.Equal(Configured, fit.Weights);
    }

    [Fact]
    public void FactorsStayWithinFourEitherWay_AndFewClicksMoveLittle()
    {
        var fit = BlendLearner.Fit(
        [
            Row("model", "1", 100_000, 20_000), Row("segment", "1", 100_000, 10),
            Row("affinity", "2-3", 30, 3), Row("co_occurrence", "2-3", 1_000_000, 50_000),
        ], Configured, Now.AddDays(-1), Now);
        Assert.Equal(BlendLearner.MinFactor, fit.Sources.Single(s => s.Source == "segment").Factor);
        Assert.InRange(fit.Sources.Single(s => s.Source == "model").Factor, 1.9, BlendLearner.MaxFactor);
        // 3 clicks where 1.5 were expected (twice the rate): the prior keeps the lift near 1.
        var affinity = fit.Sources.Single(s => s.Source == "affinity");
        Assert.Equal(30 * 50_003 / 1_000_030.0, affinity.Expected, 3);
        Assert.InRange(affinity.Lift, 1.0, 1.1);
    }

    [Fact]
    public void NothingCounted_KeepsTheConfiguredBlend()
    {
        var fit = BlendLearner.Fit([], Configured, Now.AddDays(-1), Now);
        Assert.Equal(Configured, fit.Weights);
        Assert.Empty(fit.Sources);
    }
}
