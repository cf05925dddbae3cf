using Persona.Abstractions;
using Persona.Core.Audiences;

namespace Persona.Core.Tests.Audiences;

public class AudienceTests
{
    private static Profile Profile(
        string id, string lifecycle = LifecycleStages.Active, string? segment = null, string[]? tags = null,
        double? purchase = null, double? churn = null, (string Key, double Share)[]? categories = null) => new()
    {
        UserId = id,
        Traits = new Traits { Rfm = new Rfm(1, 1, 10, 3, 3, 3), Lifecycle = lifecycle },
        Affinities = new Affinities { Categories = [.. (categories ?? []).Select(c => new Affinity(c.Key, c.Key, c.Key, 1, 5, c.Share))] },
        Tags = [.. (tags ?? []).Select(t => new Tag { Key = t, Kind = "test", LabelEn = t, LabelZh = t })],
        Predictions = purchase is null && churn is null ? null : new Predictions
        {
            PurchasePropensity = purchase,
            ChurnRisk = churn,
            CategoryPropensity = new Dictionary<string, double> { ["Beauty"] = purchase ?? 0 },
        },
        Segment = segment is null ? null : new SegmentMembership(segment, segment, segment, 0.1),
    };

    [Fact]
    public void Matches_EveryCondition_MustHold()
    {
        var rule = new AudienceRule
        {
            Segments = ["seg-1", "seg-2"],
            TagsAll = ["a", "b"],
            TagsAny = ["x", "y"],
            Lifecycle = [LifecycleStages.Active, LifecycleStages.AtRisk],
            Affinities = new Dictionary<string, double> { ["Beauty"] = 0.3 },
            Predictions = new Dictionary<string, Threshold>
            {
                [AudienceRule.PurchasePropensity] = new() { Min = 0.5 },
                [AudienceRule.ChurnRisk] = new() { Max = 0.2 },
                ["category:Beauty"] = new() { Min = 0.5, Max = 0.9 },
            },
        };
        var good = Profile("u", segment: "seg-2", tags: ["a", "b", "y"], purchase: 0.6, churn: 0.1, categories: [("Beauty", 0.4)]);
        Assert.True(rule.Matches(good));
        Assert.False(rule.Matches(good with { Segment = new SegmentMembership("seg-3", "", "", 0) }));
        Assert.False(rule.Matches(good with { Segment = null }));
        Assert.False(rule.Matches(good with { Tags = [.. good.Tags.Where(t => t.Key != "b")] }));
        Assert.False(rule.Matches(good with { Tags = [.. good.Tags.Where(t => t.Key != "y")] }));
        Assert.False(rule.Matches(good with { Traits = good.Traits with { Lifecycle = LifecycleStages.Churned } }));
        Assert.False(rule.Matches(Profile("u", segment: "seg-2", tags: ["a", "b", "y"], purchase: 0.6, churn: 0.1, categories: [("Beauty", 0.2)])));
        Assert.False(rule.Matches(Profile("u", segment: "seg-2", tags: ["a", "b", "y"], purchase: 0.6, churn: 0.3, categories: [("Beauty", 0.4)])));
        Assert.False(rule.Matches(Profile("u", segment: "seg-2", tags: ["a", "b", "y"], purchase: 0.95, churn: 0.1, categories: [("Beauty", 0.4)])));
        Assert.False(rule.Matches(good with { Predictions = null }));
    }

    [Fact]
    public void Matches_EmptyRule_MatchesEveryone()
    {
        Assert.True(new AudienceRule().Matches(Profile("u")));
    }

    [Fact]
    public void Members_WithoutMarketingConsentOrProfile_AreNeverIncluded()
    {
        var candidates = new[]
        {
            new AudienceCandidate("b", Profile("b"), MarketingConsent: true),
            new AudienceCandidate("a", Profile("a"), MarketingConsent: true),
            new AudienceCandidate("withdrawn", Profile("withdrawn"), MarketingConsent: false),
            new AudienceCandidate("no-profile", null, MarketingConsent: true),
        };
        Assert.Equal(["a", "b"], AudienceBuilder.Members(new AudienceRule(), candidates));
    }

    [Theory]
    [InlineData(0, 10, true)]
    [InlineData(9, 10, true)]
    [InlineData(10, 10, false)]
    [InlineData(250, 10, false)]
    [InlineData(4, 5, true)]
    public void Publish_BelowK_IsSuppressed(long count, int k, bool suppressed)
    {
        var published = AudienceBuilder.Publish(count, k, epsilon: null);
        Assert.Equal(suppressed, published.Suppressed);
        Assert.Equal(suppressed ? null : count, published.Count);
        Assert.False(published.Noised);
    }

    [Fact]
    public void Publish_WithEpsilon_AddsLaplaceNoiseOfScaleOneOverEpsilon()
    {
        var rng = new Random(3);
        const double epsilon = 0.5;
        var errors = Enumerable.Range(0, 20_000).Select(_ => AudienceBuilder.Publish(1000, 10, epsilon, rng).Count!.Value - 1000.0).ToArray();
        // Laplace(b): mean 0, mean |x| = b = 1/ε = 2 (rounding adds a little spread).
        Assert.InRange(errors.Average(), -0.1, 0.1);
        Assert.InRange(errors.Average(Math.Abs), 1.85, 2.15);
        Assert.True(AudienceBuilder.Publish(1000, 10, epsilon, rng).Noised);
    }

    [Fact]
    public void Publish_NoisedSmallCount_IsSuppressedOnThePublishedValue()
    {
        var rng = new Random(1);
        var outcomes = Enumerable.Range(0, 500).Select(_ => AudienceBuilder.Publish(3, 10, 1.0, rng)).ToList();
        Assert.All(outcomes, o => Assert.True(o.Suppressed && o.Count is null));
    }

    [Fact]
    public void Parse_InvalidRule_NamesEachField()
    {
        var (rule, errors) = AudienceRuleJson.Parse("""
            {"lifecycle":["active","sleeping"],"predictions":{"churn_risk":{"min":0.8,"max":0.2},"purchase_propensity":{"min":2}},
             "affinities":{"Beauty":1.5},"min_count":0,"epsilon":-1}
            """);
        Assert.Null(rule);
        var fields = errors.Select(e => e.Field).ToHashSet();
        Assert.Contains("lifecycle[1]", fields);
        Assert.Contains("predictions.churn_risk", fields);
        Assert.Contains("predictions.purchase_propensity.min", fields);
        Assert.Contains("affinities.Beauty", fields);
        Assert.Contains("min_count", fields);
        Assert.Contains("epsilon", fields);
    }

    [Fact]
    public void Parse_UnknownField_IsAnError()
    {
        var (rule, errors) = AudienceRuleJson.Parse("""{"segment":["seg-1"]}""");
        Assert.Null(rule);
        Assert.Single(errors);
        Assert.Contains("segment", errors[0].Message + errors[0].Field, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ValidRule_RoundTrips()
    {
        var (rule, errors) = AudienceRuleJson.Parse("""
            {"name":"skincare buyers","segments":["seg-1"],"tags_all":["lifecycle:active"],"tags_any":[],"lifecycle":["active"],
             "affinities":{"Beauty > Skincare":0.2},"predictions":{"category:Beauty":{"min":0.3}},"min_count":20,"epsilon":1}
            """);
        Assert.Empty(errors);
        Assert.Equal("skincare buyers", rule!.Name);
        Assert.Equal(0.2, rule.Affinities["Beauty > Skincare"]);
        Assert.Equal(0.3, rule.Predictions["category:Beauty"].Min);
        Assert.Equal(20, rule.MinCount);
        Assert.Equal(1.0, rule.Epsilon);
    }
}
