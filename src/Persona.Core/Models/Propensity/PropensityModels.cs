using Persona.Abstractions;
using Persona.Core.Features;

namespace Persona.Core.Models.Propensity;

/// <summary>One thing to predict from a user's features: a 0/1 outcome (log-loss) or a count (squared error).</summary>
public sealed record PredictionTask(string Name, LossKind Loss, string? Category, Func<Outcome, double> Label)
{
    public const string Purchase = "purchase";
    public const string Churn = "churn";
    public const string CategoryPurchasePrefix = "purchase:";
    public const string CategoryDemandPrefix = "demand:";

    /// <summary>
    /// Purchase (any purchase in the window), churn (no counted event in the window), and per top-level
    /// category: purchase in it, and the number of purchases in it (demand).
    /// </summary>
    public static IReadOnlyList<PredictionTask> Standard(IEnumerable<string> topCategories)
    {
        var tasks = new List<PredictionTask>
        {
            new(Purchase, LossKind.Logistic, null, o => o.Purchases > 0 ? 1 : 0),
            new(Churn, LossKind.Logistic, null, o => o.Events == 0 ? 1 : 0),
        };
        foreach (var c in topCategories)
        {
            tasks.Add(new(CategoryPurchasePrefix + c, LossKind.Logistic, c, o => o.CategoryPurchases.GetValueOrDefault(c) > 0 ? 1 : 0));
            tasks.Add(new(CategoryDemandPrefix + c, LossKind.Squared, c, o => o.CategoryPurchases.GetValueOrDefault(c)));
        }
        return tasks;
    }
}

/// <summary>Settings of propensity training.</summary>
public sealed class PropensityOptions
{
    public const int DefaultSeed = 42;
    public const double DefaultValidationShare = 0.2;
    public const int DefaultMinPositives = 10;
    public const int DefaultMaxTrainingRows = 40_000;

    public int Seed { get; set; } = DefaultSeed;
    /// <summary>Share of training users held out to choose the learner per task.</summary>
    public double ValidationShare { get; set; } = DefaultValidationShare;
    /// <summary>A category task is trained only when the training window has at least this many positives.</summary>
    public int MinPositives { get; set; } = DefaultMinPositives;
    /// <summary>
    /// Users beyond this are left out of training by a seeded sample (scoring still covers everyone): the
    /// Newton step costs rows × features², and quality stops improving long before 100k rows.
    /// </summary>
    public int MaxTrainingRows { get; set; } = DefaultMaxTrainingRows;

    /// <summary>The candidate learners; the one with the best validation AUC (0/1 tasks) or RMSE (counts) wins per task.</summary>
    public IReadOnlyList<ILearner> Learners(int seed) =>
    [
        new LogisticRegressionLearner(),
        new RidgeRegressionLearner(),
        new GradientBoostedTreesLearner { Seed = seed },
    ];
}

/// <summary>A learner's score on a task: validation (chooses), and test when evaluated on a later window.</summary>
public sealed record LearnerScore(string Learner, double? Validation, double? Test = null, double? TestLogLoss = null, double? TestMape = null)
{
    /// <summary>NaN (a metric undefined on one class) as null, so reports serialise as JSON; rounded to 4 places.</summary>
    public static double? Finite(double value) => double.IsFinite(value) ? Math.Round(value, 4) : null;
}

/// <summary>The chosen model of one task and how each candidate did.</summary>
public sealed record TrainedTask(PredictionTask Task, IPredictor Model, IReadOnlyList<LearnerScore> Scores, int Positives, int Rows);

/// <summary>Models for every task, trained on one time split; turns profiles into <see cref="Predictions"/>.</summary>
public sealed class PropensityModel
{
    internal PropensityModel(UserFeatureSchema schema, IReadOnlyList<TrainedTask> tasks, string version, DateTimeOffset trainedAt)
    {
        Schema = schema;
        Tasks = tasks;
        Version = version;
        TrainedAt = trainedAt;
    }

    public UserFeatureSchema Schema { get; }
    public IReadOnlyList<TrainedTask> Tasks { get; }
    public string Version { get; }
    public DateTimeOffset TrainedAt { get; }

    /// <summary>Predictions for the next horizon from the profile and its last days' activity (<see cref="SplitSnapshot.RecentOf"/>).</summary>
    public Predictions Predict(Profile profile, RecentActivity recent, DateTimeOffset computedAt)
    {
        var row = Schema.Extract(profile, recent);
        double? purchase = null, churn = null;
        var categories = new Dictionary<string, double>(StringComparer.Ordinal);
        var demand = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var t in Tasks)
        {
            var p = t.Model.Predict(row);
            if (t.Task.Name == PredictionTask.Purchase) purchase = Round(p);
            else if (t.Task.Name == PredictionTask.Churn) churn = Round(p);
            else if (t.Task.Category is { } c && t.Task.Loss == LossKind.Logistic) categories[c] = Round(p);
            else if (t.Task.Category is { } d) demand[d] = Round(Math.Max(0, p));
        }
        return new Predictions
        {
            ModelVersion = Version,
            ComputedAt = computedAt,
            PurchasePropensity = purchase,
            ChurnRisk = churn,
            CategoryPropensity = categories,
            CategoryDemand = demand,
            NextCategories = [.. categories.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(3).Select(kv => new ScoredKey(kv.Key, kv.Value))],
        };
    }

    private static double Round(double v) => Math.Round(v, 4);
}

/// <summary>
/// Trains every task on a <see cref="SplitSnapshot"/> (profiles as of a cut-off, outcomes after it): for
/// each task, each candidate learner is fitted on a seeded 80 % of users and scored on the rest; the
/// winner is refitted on all of them. Tasks train in parallel; the result is deterministic for a seed.
/// </summary>
public sealed class PropensityTrainer(PropensityOptions? options = null)
{
    private readonly PropensityOptions _options = options ?? new PropensityOptions();

    public PropensityModel Train(SplitSnapshot train, UserFeatureSchema schema, IReadOnlyList<PredictionTask>? tasks = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(schema);
        tasks ??= PredictionTask.Standard(schema.TopCategories);
        var x = Features(train, schema);
        var labelsOf = (PredictionTask task) => Labels(task, train);
        if (x.Rows > _options.MaxTrainingRows)
        {
            var keep = Enumerable.Range(0, x.Rows).ToArray();
            new Random(_options.Seed).Shuffle(keep);
            var rows = keep[.._options.MaxTrainingRows];
            Array.Sort(rows);
            x = x.Take(rows);
            labelsOf = task => [.. rows.Select(i => task.Label(train.OutcomeOf(train.Profiles[i].UserId)))];
        }
        var trained = new TrainedTask?[tasks.Count];
        Parallel.For(0, tasks.Count, k => trained[k] = TrainTask(tasks[k], x, labelsOf(tasks[k])));
        var version = $"propensity-{train.Cut.UtcDateTime:yyyyMMddTHHmmss}-{(int)train.Horizon.TotalHours}h-s{_options.Seed}";
        return new PropensityModel(schema, [.. trained.OfType<TrainedTask>()], version, train.Cut);
    }

    /// <summary>Row-major (profiles, schema columns) features of a snapshot's profiles.</summary>
    public static Dataset Features(SplitSnapshot split, UserFeatureSchema schema)
    {
        ArgumentNullException.ThrowIfNull(split);
        var profiles = split.Profiles;
        var d = schema.Count;
        var x = new double[profiles.Count * d];
        Parallel.For(0, profiles.Count, i => schema.Extract(profiles[i], split.RecentOf(profiles[i].UserId), x.AsSpan(i * d, d)));
        return new Dataset(x, new double[profiles.Count], profiles.Count, d);
    }

    public static double[] Labels(PredictionTask task, SplitSnapshot split) =>
        [.. split.Profiles.Select(p => task.Label(split.OutcomeOf(p.UserId)))];

    private TrainedTask? TrainTask(PredictionTask task, Dataset features, double[] labels)
    {
        var data = features.WithTarget(labels);
        var positives = data.Y.Count(y => y > 0);
        if (data.Rows < 20 || positives < (task.Category is null ? 2 : _options.MinPositives) || positives == data.Rows) return null;
        var (fit, validation) = Split(data.Rows, task.Name);
        var fitData = data.Take(fit);
        var validationData = data.Take(validation);
        var scores = new List<LearnerScore>();
        ILearner? best = null;
        var bestScore = double.NegativeInfinity;
        foreach (var learner in _options.Learners(_options.Seed).Where(l => l.Supports(task.Loss)))
        {
            var model = learner.Fit(fitData, task.Loss);
            var score = Score(task, model, validationData);
            scores.Add(new LearnerScore(learner.Name, LearnerScore.Finite(score)));
            var comparable = task.Loss == LossKind.Logistic ? score : -score;
            if (double.IsNaN(comparable) || comparable <= bestScore) continue;
            bestScore = comparable;
            best = learner;
        }
        best ??= _options.Learners(_options.Seed).First(l => l.Supports(task.Loss));
        return new TrainedTask(task, best.Fit(data, task.Loss), scores, positives, data.Rows);
    }

    /// <summary>AUC for 0/1 tasks, RMSE for counts.</summary>
    public static double Score(PredictionTask task, IPredictor model, Dataset data)
    {
        var p = model.PredictAll(data);
        return task.Loss == LossKind.Logistic ? Metrics.Auc(p, data.Y) : Metrics.Rmse(p, data.Y);
    }

    /// <summary>A seeded shuffle of row indices, cut into fit and validation parts (per task, so tasks stay independent of order).</summary>
    private (int[] Fit, int[] Validation) Split(int rows, string taskName)
    {
        var order = Enumerable.Range(0, rows).ToArray();
        new Random(unchecked(_options.Seed * 31 + StableHash.Of(taskName))).Shuffle(order);
        var validation = Math.Clamp((int)(rows * _options.ValidationShare), 1, rows - 1);
        return (order[validation..], order[..validation]);
    }
}
