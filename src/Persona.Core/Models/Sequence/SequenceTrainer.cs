using System.Diagnostics;
using Persona.Core.Evaluation.NextItem;
using Persona.Neural;
using Persona.Neural.Optim;

namespace Persona.Core.Models.Sequence;

/// <summary>Training settings of the sequence transformer (defaults: the configuration measured on Amazon Beauty).</summary>
public sealed record SequenceTrainingOptions
{
    public const int DefaultDimension = 64;
    public const int DefaultMaxLength = 50;
    public const int DefaultEpochs = 200;
    public const int DefaultSeed = 42;
    public const int DefaultSampledNegatives = 8192;
    public const int DefaultFullSoftmaxMaxItems = 20_000;
    public const int DefaultRefitEpochs = 15;
    public const int DefaultPatience = 4;

    public int Dimension { get; init; } = DefaultDimension;

    public int Layers { get; init; } = 2;

    public int Heads { get; init; } = 1;

    public int MaxLength { get; init; } = DefaultMaxLength;

    public float Dropout { get; init; } = 0.5f;

    public int Epochs { get; init; } = DefaultEpochs;

    public int BatchSize { get; init; } = 128;

    public float LearningRate { get; init; } = 2e-3f;

    public float WeightDecay { get; init; }

    /// <summary>
    /// Epochs after early stopping whose windows include the validation step (the test step stays held out), with the
    /// learning rate falling linearly to zero over them. Ten was chosen on Beauty's validation split with the schedule
    /// shifted one step earlier (<c>persona evaluate --drop-last 1</c>; docs/models.md).
    /// </summary>
    public int RefitEpochs { get; init; } = DefaultRefitEpochs;

    /// <summary>Share of items (with attributes) whose id embedding is dropped in a step, for cold-start vectors.</summary>
    public float ItemIdDropout { get; init; }

    /// <summary>
    /// Shared uniform negatives per batch for catalogs larger than <see cref="FullSoftmaxMaxItems"/>; 0: cross-entropy
    /// over the whole catalog whatever its size.
    /// </summary>
    public int SampledNegatives { get; init; } = DefaultSampledNegatives;

    /// <summary>
    /// Catalogs up to this many items train with the exact softmax over every item. On Beauty (12,101 items) it was no
    /// slower per step than 8,192 sampled negatives and reached a higher validation NDCG@10 (.0660 against .0652).
    /// </summary>
    public int FullSoftmaxMaxItems { get; init; } = DefaultFullSoftmaxMaxItems;

    /// <summary>True when a catalog of <paramref name="itemCount"/> items trains with the exact softmax.</summary>
    public bool UsesFullSoftmax(int itemCount) => SampledNegatives <= 0 || SampledNegatives >= itemCount || itemCount <= FullSoftmaxMaxItems;

    /// <summary>Epochs without a better validation NDCG@10 before stopping.</summary>
    public int Patience { get; init; } = DefaultPatience;

    /// <summary>Stop after this much training time (then keep the best epoch so far); null = no limit.</summary>
    public TimeSpan? TimeLimit { get; init; }

    public int Seed { get; init; } = DefaultSeed;

    /// <summary>
    /// Text vectors of items by id (the text encoder's); when given, the item table starts from them
    /// (<see cref="SequenceTextInit"/>) instead of at random. Not stored: the manifest's metrics count the rows it set.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Func<string, float[]?>? ItemText { get; init; }
}

/// <summary>Where training stands, reported after every step and every validation.</summary>
public sealed record SequenceTrainingProgress(
    int Epoch, int Epochs, int Step, int StepsPerEpoch, float Loss, double? ValidationNdcg10, double BestValidationNdcg10, TimeSpan Elapsed, TimeSpan? Eta);

/// <summary>A trained model with the figures of its run.</summary>
public sealed record SequenceTrainingResult(SequenceModel Model, int BestEpoch, int EpochsRun, double BestValidationNdcg10, TimeSpan Elapsed, IReadOnlyList<double> ValidationByEpoch)
{
    /// <summary>Refit epochs run after early stopping (fewer than asked when the time limit came first).</summary>
    public int RefitEpochsRun { get; init; }

    /// <summary>A caller's diagnostic figure per epoch (training epochs, then refit epochs); empty without one.</summary>
    public IReadOnlyList<double> DiagnosticByEpoch { get; init; } = [];

    /// <summary>Item rows started from text vectors (<see cref="SequenceTrainingOptions.ItemText"/>); 0 without them.</summary>
    public int TextInitialisedItems { get; init; }
}

/// <summary>
/// Trains the sequence transformer with cross-entropy at every position of each user's training steps (all but the
/// last two), early-stopping on validation NDCG@10 (full ranking, seen items excluded) and keeping the best epoch.
/// Batches group users of similar length, so right-padding wastes little; the run is deterministic for a seed.
/// </summary>
public static class SequenceTrainer
{
    /// <summary>Most of a time limit the refit may take.</summary>
    public const double RefitShare = 0.4;

    public static SequenceTrainingResult Train(
        SequenceDataset data, SequenceTrainingOptions options, IProgress<SequenceTrainingProgress>? progress = null, SequenceModel? warmStart = null,
        CancellationToken cancellationToken = default) =>
        Train(data, options, diagnostic: null, progress, warmStart, cancellationToken);

    /// <summary>Trains, calling <paramref name="diagnostic"/> on the network after every epoch (its figures land in the result).</summary>
    public static SequenceTrainingResult Train(
        SequenceDataset data, SequenceTrainingOptions options, Func<SequenceNetwork, double>? diagnostic,
        IProgress<SequenceTrainingProgress>? progress = null, SequenceModel? warmStart = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        var rng = new Rng((ulong)options.Seed);
        var network = CreateNetwork(data, options, rng.Fork());
        // Text first: a warm start's rows, learned from behaviour, then replace the text rows of the items both runs know.
        var textRows = options.ItemText is { } text ? SequenceTextInit.Apply(network, data.Vocabulary, text, (ulong)options.Seed + 1) : 0;
        if (warmStart is not null) SequenceWarmStart.Apply(network, data.Vocabulary, warmStart);
        var parameters = network.Parameters().ToList();
        var optimizer = new AdamW(parameters, options.LearningRate, beta1: 0.9f, beta2: 0.98f, weightDecay: options.WeightDecay);

        var samples = Samples(data, heldOut: 2, options.MaxLength);
        if (samples.Count == 0) throw new InvalidOperationException("No user has the three or more steps that training and validation need.");

        var validationUsers = Enumerable.Range(0, data.Users.Count).Where(u => data.Users[u].Length >= 3).ToArray();
        var batchRng = rng.Fork();
        var negativeRng = rng.Fork();
        var stepsPerEpoch = (samples.Count + options.BatchSize - 1) / options.BatchSize;
        var best = double.NegativeInfinity;
        var bestEpoch = 0;
        float[][]? bestWeights = null;
        var history = new List<double>();
        var diagnostics = new List<double>();
        var epochsRun = 0;
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            network.Train();
            var batches = MakeBatches(samples, options.BatchSize, batchRng);
            var lossSum = 0.0;
            for (var s = 0; s < batches.Count; s++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var loss = Step(network, optimizer, parameters, data, batches[s], options, negativeRng);
                lossSum += loss;
                progress?.Report(new SequenceTrainingProgress(epoch, options.Epochs, s + 1, batches.Count, loss, null, Math.Max(0, best), clock.Elapsed,
                    Eta(clock.Elapsed, epoch - 1 + ((s + 1.0) / batches.Count), options)));
            }
            epochsRun = epoch;
            network.Eval();
            var ndcg = Validate(network, data, validationUsers);
            history.Add(ndcg);
            if (diagnostic is not null) diagnostics.Add(diagnostic(network));
            if (ndcg > best)
            {
                best = ndcg;
                bestEpoch = epoch;
                bestWeights = parameters.Select(p => p.ToArray()).ToArray();
            }
            progress?.Report(new SequenceTrainingProgress(epoch, options.Epochs, batches.Count, batches.Count, (float)(lossSum / batches.Count), ndcg, best, clock.Elapsed,
                Eta(clock.Elapsed, epoch, options)));
            if (epoch - bestEpoch >= options.Patience) break;
            // Under a time limit, stop when one more epoch and the refit would not fit in it (the refit taking at most
            // RefitShare of the limit, so a short limit still leaves most of it to choosing the epoch).
            if (options.TimeLimit is { } limit)
            {
                var perEpoch = clock.Elapsed / epoch;
                var refit = TimeSpan.FromTicks(Math.Min(perEpoch.Ticks * options.RefitEpochs, (long)(limit.Ticks * RefitShare)));
                if (clock.Elapsed + perEpoch + refit > limit) break;
            }
        }

        if (bestWeights is not null)
        {
            for (var i = 0; i < parameters.Count; i++) bestWeights[i].CopyTo(parameters[i].Data);
        }

        // Refit: a few more epochs whose windows end at the validation step (only the test step stays unseen), so the
        // served model has learned each user's newest transition too; validation has chosen everything else. The
        // learning rate falls linearly to zero over them, which settles the weights instead of leaving them mid-step.
        // Under a time limit the refit gets the time of as many epochs as the limit still allows (at least one).
        var refitRun = 0;
        if (options.RefitEpochs > 0)
        {
            var refit = Samples(data, heldOut: 1, options.MaxLength);
            var epochSeconds = epochsRun > 0 ? clock.Elapsed.TotalSeconds / epochsRun : 0;
            var refitEpochs = options.RefitEpochs;
            if (options.TimeLimit is { } limit && epochSeconds > 0)
                refitEpochs = Math.Clamp((int)((limit.TotalSeconds - clock.Elapsed.TotalSeconds) / epochSeconds), 1, options.RefitEpochs);
            var refitSteps = refitEpochs * ((refit.Count + options.BatchSize - 1) / options.BatchSize);
            var stepsDone = 0;
            network.Train();
            for (var epoch = 1; epoch <= refitEpochs; epoch++)
            {
                var batches = MakeBatches(refit, options.BatchSize, batchRng);
                for (var s = 0; s < batches.Count; s++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    optimizer.LearningRate = options.LearningRate * (1f - ((float)stepsDone / refitSteps));
                    var loss = Step(network, optimizer, parameters, data, batches[s], options, negativeRng);
                    stepsDone++;
                    progress?.Report(new SequenceTrainingProgress(epochsRun, options.Epochs, s + 1, batches.Count, loss, null, Math.Max(0, best), clock.Elapsed, TimeSpan.Zero));
                }
                refitRun = epoch;
                if (diagnostic is not null)
                {
                    network.Eval();
                    diagnostics.Add(diagnostic(network));
                    network.Train();
                }
            }
            optimizer.LearningRate = options.LearningRate;
        }
        network.Eval();
        var version = "seq-" + DateTimeOffset.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var model = new SequenceModel(network, data.Vocabulary, version);
        return new SequenceTrainingResult(model, bestEpoch, epochsRun, best, clock.Elapsed, history) { RefitEpochsRun = refitRun, DiagnosticByEpoch = diagnostics, TextInitialisedItems = textRows };
    }

    private static TimeSpan? Eta(TimeSpan elapsed, double epochsDone, SequenceTrainingOptions options)
    {
        if (epochsDone <= 0) return null;
        var remaining = TimeSpan.FromTicks((long)(elapsed.Ticks / epochsDone * Math.Max(0, options.Epochs - epochsDone)));
        if (options.TimeLimit is { } limit && elapsed + remaining > limit) remaining = limit > elapsed ? limit - elapsed : TimeSpan.Zero;
        return remaining;
    }

    /// <summary>Validation NDCG@10 of the network over the given users (history = all but the last two steps).</summary>
    public static double Validate(SequenceNetwork network, SequenceDataset data, IReadOnlyList<int> users)
    {
        ArgumentNullException.ThrowIfNull(network);
        var model = new SequenceModel(network, data.Vocabulary, "validation");
        var scorer = new SequenceModelScorer(model);
        var metrics = NextItemEvaluator.Evaluate(data, scorer, NextItemSplit.Validation, users);
        return metrics.Ndcg(10);
    }

    /// <summary>Training windows: the newest MaxLength + 1 steps of each user, leaving out the last <paramref name="heldOut"/>.</summary>
    private static List<(int User, int Start, int Length)> Samples(SequenceDataset data, int heldOut, int maxLength)
    {
        var samples = new List<(int User, int Start, int Length)>();
        for (var u = 0; u < data.Users.Count; u++)
        {
            var trainLength = data.Users[u].Length - heldOut;
            if (trainLength < 2) continue;
            var window = Math.Min(trainLength, maxLength + 1);
            samples.Add((u, trainLength - window, window));
        }
        return samples;
    }

    /// <summary>Batches of samples of similar window length, in a shuffled order (a fresh shuffle every epoch).</summary>
    private static List<(int User, int Start, int Length)[]> MakeBatches(List<(int User, int Start, int Length)> samples, int batchSize, Rng rng)
    {
        var keys = new ulong[samples.Count];
        for (var i = 0; i < keys.Length; i++) keys[i] = rng.NextUInt64();
        var order = Enumerable.Range(0, samples.Count).OrderBy(i => samples[i].Length).ThenBy(i => keys[i]).ToArray();
        var batches = new List<(int, int, int)[]>();
        for (var b = 0; b < order.Length; b += batchSize)
            batches.Add(order.Skip(b).Take(batchSize).Select(i => samples[i]).ToArray());
        var shuffled = batches.ToArray();
        rng.Shuffle(shuffled.AsSpan());
        return [.. shuffled];
    }

    /// <summary>A fresh network of the options' shape for the data set, its item attributes set.</summary>
    public static SequenceNetwork CreateNetwork(SequenceDataset data, SequenceTrainingOptions options, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var network = new SequenceNetwork(new SequenceNetworkConfig
        {
            ItemCount = data.ItemCount,
            AttributeCount = data.Vocabulary.AttributeCount,
            Dimension = options.Dimension,
            Layers = options.Layers,
            Heads = options.Heads,
            MaxLength = options.MaxLength,
            Dropout = options.Dropout,
        }, rng);
        network.SetItemAttributes(data.ItemAttributes);
        return network;
    }

    /// <summary>
    /// One training step on a batch of windows (user, first step, length): forward, cross-entropy at every position,
    /// backward, clipping at 5 and the optimizer's step. Returns the loss. Public for the step benchmark.
    /// </summary>
    public static float Step(
        SequenceNetwork network, AdamW optimizer, List<Tensor> parameters, SequenceDataset data, (int User, int Start, int Length)[] batch,
        SequenceTrainingOptions options, Rng negativeRng)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(negativeRng);
        var count = batch.Length;
        var seq = batch.Max(b => b.Length) - 1;
        var items = new int[count * seq];
        var types = new int[count * seq];
        var gaps = new int[count * seq];
        var targets = new int[count * seq];
        Array.Fill(targets, -1);
        for (var i = 0; i < count; i++)
        {
            var (u, start, length) = batch[i];
            var user = data.Users[u];
            SequenceModel.FillWindow(user, start, length - 1, items.AsSpan(i * seq, seq), types.AsSpan(i * seq, seq), gaps.AsSpan(i * seq, seq));
            for (var t = 0; t < length - 1; t++) targets[(i * seq) + t] = user.Items[start + t + 1] - 1; // class = item index − 1
        }

        using var tape = new Tape();
        var table = network.ItemTable(options.ItemIdDropout, negativeRng);        // (items + 1, dim)
        var x = Ops.Embedding(table, items, count, seq);                        // (batch, seq, dim)
        var h = network.Encode(x, types, gaps);                                 // (batch, seq, dim)
        var hidden = Ops.Reshape(h, count * seq, options.Dimension);            // (batch·seq, dim)
        var classes = Ops.Slice(table, 0, 1, data.ItemCount);                   // (items, dim), padding row left out
        Tensor loss;
        if (!options.UsesFullSoftmax(data.ItemCount))
        {
            // Uniform shared negatives: log q is the same for every item, so the logQ correction is a constant.
            var negatives = new int[options.SampledNegatives];
            for (var j = 0; j < negatives.Length; j++) negatives[j] = negativeRng.NextInt(data.ItemCount);
            loss = Ops.SampledSoftmaxCrossEntropy(hidden, classes, targets, negatives, ignoreIndex: -1);
        }
        else
        {
            loss = Ops.LinearCrossEntropy(hidden, classes, targets, ignoreIndex: -1);
        }
        tape.Backward(loss);
        GradientClipping.ClipByGlobalNorm(parameters, 5f);
        optimizer.Step();
        optimizer.ZeroGrad();
        return loss.ToScalar();
    }
}
