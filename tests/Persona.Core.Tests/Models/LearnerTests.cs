using FsCheck;
using FsCheck.Fluent;
using Persona.Core.Models.Propensity;

namespace Persona.Core.Tests.Models;

public class LearnerTests
{
    /// <summary>y = 1 with probability σ(2·x0 − x1 + 0.5); x2 is noise.</summary>
    private static Dataset Logistic(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new double[n * 3];
        var y = new double[n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < 3; j++) x[i * 3 + j] = rng.NextDouble() * 4 - 2;
            var p = 1 / (1 + Math.Exp(-(2 * x[i * 3] - x[i * 3 + 1] + 0.5)));
            y[i] = rng.NextDouble() < p ? 1 : 0;
        }
        return new Dataset(x, y, n, 3);
    }

    [Fact]
    public void LogisticRegression_KnownModel_RecoversAucAndCalibration()
    {
        var train = Logistic(4000, 1);
        var test = Logistic(4000, 2);
        var model = new LogisticRegressionLearner().Fit(train, LossKind.Logistic);
        var p = model.PredictAll(test);
        // The true probabilities give the best AUC possible on this sample; the fit must come close.
        var oracle = Enumerable.Range(0, test.Rows).Select(i => 1 / (1 + Math.Exp(-(2 * test.X[i * 3] - test.X[i * 3 + 1] + 0.5)))).ToArray();
        Assert.InRange(Metrics.Auc(p, test.Y), Metrics.Auc(oracle, test.Y) - 0.005, 1);
        // Calibrated: the log-loss is near the true probabilities' and the reliability bins agree in total.
        Assert.InRange(Metrics.LogLoss(p, test.Y), 0, Metrics.LogLoss(oracle, test.Y) + 0.01);
        var bins = Metrics.Calibration(p, test.Y);
        Assert.Equal(test.Rows, bins.Sum(b => b.Count));
        Assert.InRange(bins.Sum(b => b.Count * (b.ObservedRate - b.MeanPredicted)) / test.Rows, -0.02, 0.02);
    }

    [Fact]
    public void RidgeRegression_LinearTarget_FitsCoefficients()
    {
        var rng = new Random(3);
        const int n = 2000;
        var x = new double[n * 2];
        var y = new double[n];
        for (var i = 0; i < n; i++)
        {
            x[i * 2] = rng.NextDouble() * 10;
            x[i * 2 + 1] = rng.NextDouble();
            y[i] = 3 * x[i * 2] - 2 * x[i * 2 + 1] + 1 + (rng.NextDouble() - 0.5) * 0.1;
        }
        var model = new RidgeRegressionLearner(l2: 1e-6).Fit(new Dataset(x, y, n, 2), LossKind.Squared);
        Assert.Equal(3 * 5 - 2 * 0.5 + 1, model.Predict([5, 0.5]), 1);
        Assert.InRange(Metrics.Rmse(model.PredictAll(new Dataset(x, y, n, 2)), y), 0, 0.05);
    }

    [Fact]
    public void GradientBoostedTrees_Interaction_BeatsLogisticRegression()
    {
        // XOR of signs: invisible to a linear model, easy for trees.
        static Dataset Xor(int n, int seed)
        {
            var rng = new Random(seed);
            var x = new double[n * 2];
            var y = new double[n];
            for (var i = 0; i < n; i++)
            {
                x[i * 2] = rng.NextDouble() * 2 - 1;
                x[i * 2 + 1] = rng.NextDouble() * 2 - 1;
                y[i] = (x[i * 2] > 0) ^ (x[i * 2 + 1] > 0) ? 1 : 0;
            }
            return new Dataset(x, y, n, 2);
        }
        var train = Xor(3000, 4);
        var test = Xor(2000, 5);
        var trees = new GradientBoostedTreesLearner().Fit(train, LossKind.Logistic);
        var linear = new LogisticRegressionLearner().Fit(train, LossKind.Logistic);
        Assert.True(Metrics.Auc(trees.PredictAll(test), test.Y) > 0.97);
        Assert.InRange(Metrics.Auc(linear.PredictAll(test), test.Y), 0.4, 0.6);
    }

    [Fact]
    public void GradientBoostedTrees_SameSeed_SamePredictions()
    {
        var data = Logistic(1500, 6);
        var a = new GradientBoostedTreesLearner { Seed = 9 }.Fit(data, LossKind.Squared).PredictAll(data);
        var b = new GradientBoostedTreesLearner { Seed = 9 }.Fit(data, LossKind.Squared).PredictAll(data);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Auc_MatchesPairCounting()
    {
        Prop.ForAll(Gen.Choose(0, 4).ArrayOf().ToArbitrary(), Gen.Choose(0, 1).ArrayOf().ToArbitrary(), (scores, labels) =>
        {
            var n = Math.Min(scores.Length, labels.Length);
            var s = scores.Take(n).Select(v => (double)v).ToArray();
            var y = labels.Take(n).Select(v => (double)v).ToArray();
            double wins = 0, pairs = 0;
            for (var i = 0; i < n; i++)
                for (var j = 0; j < n; j++)
                {
                    if (y[i] != 1 || y[j] != 0) continue;
                    pairs++;
                    wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                }
            var auc = Metrics.Auc(s, y);
            return pairs == 0 ? double.IsNaN(auc) : Math.Abs(auc - wins / pairs) < 1e-9;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void LogLossAndMape_KnownValues()
    {
        Assert.Equal(-Math.Log(0.8), Metrics.LogLoss([0.8, 0.2], [1, 0]), 9);
        Assert.Equal(0.25, Metrics.Mape([5, 3, 1], [4, 4, 0]), 9);
        Assert.Equal(Math.Sqrt(2.5), Metrics.Rmse([1, 4], [2, 2]), 9);
    }

    [Fact]
    public void PermutationImportance_NoiseColumn_RanksLast()
    {
        var data = Logistic(3000, 7);
        var model = new LogisticRegressionLearner().Fit(data, LossKind.Logistic);
        var drops = Metrics.PermutationImportance(model, data, (p, y) => Metrics.Auc(p, y), seed: 1);
        Assert.True(drops[0] > drops[1]);
        Assert.True(drops[1] > drops[2]);
        Assert.InRange(drops[2], -0.01, 0.01);
    }
}
