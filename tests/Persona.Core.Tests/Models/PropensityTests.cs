using Persona.Core.Demo;
using Persona.Core.Features;
using Persona.Core.Models.Propensity;

namespace Persona.Core.Tests.Models;

[Collection(SmallShopCollection.Name)]
public class PropensityTests(SmallShopFixture shop)
{
    [Fact]
    public void TimeSplit_Outcomes_ComeOnlyFromTheWindowAfterTheCut()
    {
        var expected = shop.Events
            .Where(e => e.ExcludedReason is null && e.Timestamp >= shop.Test.Cut && e.Timestamp < shop.Test.Cut + shop.Test.Horizon)
            .GroupBy(e => e.UserId)
            .ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(expected.Count, shop.Test.Outcomes.Count);
        foreach (var (user, count) in expected) Assert.Equal(count, shop.Test.Outcomes[user].Events);
        // Features never see the future: every profile's newest event is before its cut.
        Assert.All(shop.Test.Profiles, p => Assert.True(p.Traits.LastSeen < shop.Test.Cut));
    }

    [Fact]
    public void Evaluate_DemoShop_PinsPurchaseAndChurnQuality()
    {
        var truths = DemoGroundTruth.For(shop.Shop.Truth, shop.Test.Cut, shop.Test.Cut + shop.Test.Horizon);
        var report = PropensityEvaluator.Evaluate("small demo", shop.Train, shop.Test, UserFeatureSchema.For(shop.Train.Profiles), truths: truths);

        var purchase = report.Tasks.Single(t => t.Task == PredictionTask.Purchase);
        var churn = report.Tasks.Single(t => t.Task == PredictionTask.Churn);
        // Realised 14-day purchases are Poisson-noisy; the 3,000-user demo measures 0.72 (bench/README-segments.md).
        Assert.True(Chosen(purchase).Test >= 0.66, $"purchase AUC {Chosen(purchase).Test}");
        Assert.True(Chosen(churn).Test >= 0.80, $"churn AUC {Chosen(churn).Test}");
        var purchaseTruth = report.GroundTruth.Single(t => t.Task == PredictionTask.Purchase);
        var churnTruth = report.GroundTruth.Single(t => t.Task == PredictionTask.Churn);
        Assert.True(purchaseTruth.Auc >= 0.80, $"purchase vs latent truth AUC {purchaseTruth.Auc}");
        Assert.True(churnTruth.Auc >= 0.90, $"churn vs truth AUC {churnTruth.Auc}");
        // The latent rate is itself a strong but imperfect predictor of what was drawn.
        Assert.InRange(purchaseTruth.LatentAucOnRealised!.Value, 0.6, 0.95);
        Assert.NotEmpty(purchase.Calibration);
        Assert.Equal(8, purchase.Importance.Count);
        Assert.NotEmpty(report.Demand);
        Assert.Contains("| purchase", report.ToMarkdown(), StringComparison.Ordinal);
    }

    [Fact]
    public void Train_SameSeed_SamePredictions()
    {
        var schema = UserFeatureSchema.For(shop.Train.Profiles);
        var a = new PropensityTrainer().Train(shop.Train, schema);
        var b = new PropensityTrainer().Train(shop.Train, schema);
        var profile = shop.Test.Profiles[0];
        var pa = a.Predict(profile, shop.Test.RecentOf(profile.UserId), shop.End);
        var pb = b.Predict(profile, shop.Test.RecentOf(profile.UserId), shop.End);
        Assert.Equal(pa.PurchasePropensity, pb.PurchasePropensity);
        Assert.Equal(pa.ChurnRisk, pb.ChurnRisk);
        Assert.Equal(pa.CategoryPropensity, pb.CategoryPropensity);
        Assert.InRange(pa.PurchasePropensity!.Value, 0, 1);
        Assert.Equal(a.Tasks.Select(t => t.Model.Learner), b.Tasks.Select(t => t.Model.Learner));
        Assert.All(pa.CategoryDemand.Values, v => Assert.True(v >= 0));
    }

    private static LearnerScore Chosen(TaskEvaluation t) => t.Learners.Single(l => l.Learner == t.Chosen);
}
