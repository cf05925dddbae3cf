using System.Globalization;
using System.Text;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Features;

namespace Persona.Core.Models.Propensity;

/// <summary>A feature and how much shuffling it hurts the chosen model (AUC points, or RMSE for counts).</summary>
public sealed record FeatureImportance(string Feature, double Drop);

/// <summary>Test-window quality of one task for every learner, with the chosen learner's calibration and important features.</summary>
public sealed record TaskEvaluation(
    string Task, string Chosen, int TrainRows, int TrainPositives, int TestRows, double TestPositiveRate,
    IReadOnlyList<LearnerScore> Learners, IReadOnlyList<CalibrationBin> Calibration, IReadOnlyList<FeatureImportance> Importance);

/// <summary>Predicted against actual purchases per top-level category in the test window (summed over users).</summary>
public sealed record DemandRow(string Category, double Predicted, double Actual);

/// <summary>
/// An external ground truth for one prediction task (e.g. the demo generator's latent state): a binary label per
/// user (null = not covered), and optionally the latent probability itself, which is scored against the realised
/// outcomes to show the ceiling any model can reach on them.
/// </summary>
public sealed record GroundTruth(string Task, string Definition, Func<string, bool?> Label, Func<string, double?>? LatentProbability = null);

/// <summary>A task's chosen model scored against a <see cref="GroundTruth"/>.</summary>
public sealed record GroundTruthScore(string Task, string Definition, int Users, int Positives, double? Auc, double? LogLoss, double? LatentAucOnRealised = null);

public sealed record PropensityReport
{
    public required string Dataset { get; init; }
    public required DateTimeOffset TrainCut { get; init; }
    public required DateTimeOffset TestCut { get; init; }
    public required double HorizonDays { get; init; }
    public required int TrainUsers { get; init; }
    public required int TestUsers { get; init; }
    public string? Note { get; init; }
    public required IReadOnlyList<TaskEvaluation> Tasks { get; init; }
    public IReadOnlyList<DemandRow> Demand { get; init; } = [];
    public double? DemandMape { get; init; }
    public IReadOnlyList<GroundTruthScore> GroundTruth { get; init; } = [];

    public string ToJson() => JsonSerializer.Serialize(this, PersonaJson.Options);

    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"## Propensity evaluation: {Dataset}");
        sb.AppendLine();
        sb.AppendLine(c, $"Time split: features from events before the cut, labels from events in [cut, cut + {HorizonDays:0.###} days). ");
        sb.AppendLine(c, $"Train: cut {TrainCut:u}, {TrainUsers} users. Test: cut {TestCut:u}, {TestUsers} users.");
        if (Note is not null) sb.AppendLine().AppendLine(Note);
        sb.AppendLine();
        sb.AppendLine("| task | learner | validation | test AUC / RMSE | test log-loss / MAPE | chosen |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var t in Tasks)
            foreach (var l in t.Learners)
                sb.AppendLine(c, $"| {t.Task} (n={t.TestRows}, rate={t.TestPositiveRate:0.###}) | {l.Learner} | {F(l.Validation)} | {F(l.Test)} | {F(l.TestLogLoss ?? l.TestMape)} | {(l.Learner == t.Chosen ? "✓" : "")} |");
        if (GroundTruth.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("| task against ground truth | users | positives | AUC | log-loss | latent truth vs realised (ceiling) |");
            sb.AppendLine("|---|---|---|---|---|---|");
            foreach (var truth in GroundTruth)
                sb.AppendLine(c, $"| {truth.Task} | {truth.Users} | {truth.Positives} | {F(truth.Auc)} | {F(truth.LogLoss)} | {F(truth.LatentAucOnRealised)} |");
            sb.AppendLine();
            foreach (var truth in GroundTruth) sb.AppendLine(c, $"- {truth.Task}: {truth.Definition}");
        }
        foreach (var t in Tasks.Where(t => t.Calibration.Count > 0 || t.Importance.Count > 0))
        {
            sb.AppendLine();
            sb.AppendLine(c, $"### {t.Task} ({t.Chosen})");
            if (t.Calibration.Count > 0)
            {
                sb.AppendLine();
                sb.AppendLine("| bin | users | mean predicted | observed |");
                sb.AppendLine("|---|---|---|---|");
                foreach (var b in t.Calibration) sb.AppendLine(c, $"| {b.Low:0.0}–{b.High:0.0} | {b.Count} | {b.MeanPredicted:0.000} | {b.ObservedRate:0.000} |");
            }
            if (t.Importance.Count > 0)
            {
                sb.AppendLine();
                sb.AppendLine("Permutation importance (drop in test metric when the feature is shuffled): " +
                    string.Join(", ", t.Importance.Select(i => string.Create(c, $"{i.Feature} {i.Drop:0.000}"))));
            }
        }
        if (Demand.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(c, $"### Demand per top-level category (purchases in the test window), MAPE {F(DemandMape)}");
            sb.AppendLine();
            sb.AppendLine("| category | predicted | actual |");
            sb.AppendLine("|---|---|---|");
            foreach (var d in Demand) sb.AppendLine(c, $"| {d.Category} | {d.Predicted:0.0} | {d.Actual:0} |");
        }
        return sb.ToString();
    }

    private static string F(double? v) => v is { } x && !double.IsNaN(x) ? x.ToString("0.000", CultureInfo.InvariantCulture) : "–";
}

/// <summary>
/// Trains on the earlier split, predicts the later one: every learner per task, the chosen one (by
/// validation) with calibration bins and permutation importance, demand totals per category, and
/// optionally tasks against external ground truths.
/// </summary>
public static class PropensityEvaluator
{
    public static PropensityReport Evaluate(
        string dataset, SplitSnapshot train, SplitSnapshot test, UserFeatureSchema schema, PropensityOptions? options = null,
        IReadOnlyList<GroundTruth>? truths = null, string? note = null)
    {
        options ??= new PropensityOptions();
        var model = new PropensityTrainer(options).Train(train, schema);
        var trainX = PropensityTrainer.Features(train, schema);
        var testX = PropensityTrainer.Features(test, schema);
        var evaluations = new TaskEvaluation[model.Tasks.Count];
        Parallel.For(0, model.Tasks.Count, k =>
        {
            var trained = model.Tasks[k];
            var task = trained.Task;
            var trainData = trainX.WithTarget(PropensityTrainer.Labels(task, train));
            var testData = testX.WithTarget(PropensityTrainer.Labels(task, test));
            var scores = new List<LearnerScore>();
            foreach (var learner in options.Learners(options.Seed).Where(l => l.Supports(task.Loss)))
            {
                var validation = trained.Scores.FirstOrDefault(s => s.Learner == learner.Name)?.Validation;
                var fitted = learner.Name == trained.Model.Learner ? trained.Model : learner.Fit(trainData, task.Loss);
                var p = fitted.PredictAll(testData);
                scores.Add(task.Loss == LossKind.Logistic
                    ? new LearnerScore(learner.Name, validation, LearnerScore.Finite(Metrics.Auc(p, testData.Y)), LearnerScore.Finite(Metrics.LogLoss(p, testData.Y)))
                    : new LearnerScore(learner.Name, validation, LearnerScore.Finite(Metrics.Rmse(p, testData.Y)), TestMape: LearnerScore.Finite(Metrics.Mape(p, testData.Y))));
            }
            var headline = task.Category is null;
            var chosen = trained.Model.PredictAll(testData);
            var calibration = headline && task.Loss == LossKind.Logistic ? Metrics.Calibration(chosen, testData.Y) : [];
            IReadOnlyList<FeatureImportance> importance = [];
            if (headline)
            {
                var drops = Metrics.PermutationImportance(trained.Model, testData, (p, y) => Metrics.Auc(p, y), options.Seed);
                importance = [.. drops.Select((d, j) => new FeatureImportance(schema.Names[j], Math.Round(d, 4)))
                    .OrderByDescending(f => f.Drop).ThenBy(f => f.Feature, StringComparer.Ordinal).Take(8)];
            }
            evaluations[k] = new TaskEvaluation(task.Name, trained.Model.Learner, trained.Rows, trained.Positives, testData.Rows,
                testData.Rows == 0 ? 0 : testData.Y.Count(y => y > 0) / (double)testData.Rows, scores, calibration, importance);
        });

        var demand = new List<DemandRow>();
        foreach (var trained in model.Tasks.Where(t => t.Task.Name.StartsWith(PredictionTask.CategoryDemandPrefix, StringComparison.Ordinal)))
        {
            var testData = testX.WithTarget(PropensityTrainer.Labels(trained.Task, test));
            var predicted = trained.Model.PredictAll(testData).Sum(v => Math.Max(0, v));
            demand.Add(new DemandRow(trained.Task.Category!, Math.Round(predicted, 1), testData.Y.Sum()));
        }

        var truthScores = new List<GroundTruthScore>();
        foreach (var truth in truths ?? [])
        {
            if (model.Tasks.FirstOrDefault(t => t.Task.Name == truth.Task) is not { } trained) continue;
            var realised = PropensityTrainer.Labels(trained.Task, test);
            var p = new List<double>();
            var y = new List<double>();
            var latent = new List<double>();
            var latentRealised = new List<double>();
            for (var i = 0; i < test.Profiles.Count; i++)
            {
                var user = test.Profiles[i].UserId;
                if (truth.LatentProbability?.Invoke(user) is { } q)
                {
                    latent.Add(q);
                    latentRealised.Add(realised[i]);
                }
                if (truth.Label(user) is not { } label) continue;
                p.Add(trained.Model.Predict(testX.Row(i)));
                y.Add(label ? 1 : 0);
            }
            truthScores.Add(new GroundTruthScore(truth.Task, truth.Definition, p.Count, (int)y.Sum(),
                LearnerScore.Finite(Metrics.Auc([.. p], [.. y])), LearnerScore.Finite(Metrics.LogLoss([.. p], [.. y])),
                latent.Count == 0 ? null : LearnerScore.Finite(Metrics.Auc([.. latent], [.. latentRealised]))));
        }

        return new PropensityReport
        {
            Dataset = dataset,
            TrainCut = train.Cut,
            TestCut = test.Cut,
            HorizonDays = test.Horizon.TotalDays,
            TrainUsers = train.Profiles.Count,
            TestUsers = test.Profiles.Count,
            Note = note,
            Tasks = evaluations,
            Demand = demand,
            DemandMape = demand.Count == 0 ? null : LearnerScore.Finite(Metrics.Mape([.. demand.Select(d => d.Predicted)], [.. demand.Select(d => d.Actual)])),
            GroundTruth = truthScores,
        };
    }
}
