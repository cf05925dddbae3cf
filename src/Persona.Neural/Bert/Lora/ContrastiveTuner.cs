using System.Diagnostics;
using System.Numerics.Tensors;
using Persona.Neural.Optim;
using Persona.Neural.Text;
using Persona.Numerics;

namespace Persona.Neural.Bert.Lora;

/// <summary>
/// Fine-tunes a <see cref="LoraBert"/>'s adapters on text pairs with the symmetric in-batch InfoNCE loss (the
/// sentence-transformers MultipleNegativesRankingLoss in both directions): AdamW on the adapters only, linear warm-up
/// then linear decay, gradient clipping, limits on epochs and minutes. Deterministic for a seed: the pair order comes
/// from <see cref="ContrastiveTuningOptions.Seed"/> and every kernel sums in a fixed order.
/// Pairs that share a text in one batch count as negatives of each other (no false-negative masking).
/// </summary>
public sealed class ContrastiveTuner
{
    private readonly AdamW _optimizer;
    private readonly Tensor[] _parameters;

    public ContrastiveTuner(LoraBert model, ContrastiveTuningOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Options = options ?? new ContrastiveTuningOptions();
        Options.Validate();
        Model = model;
        _parameters = [.. model.Adapters.Parameters];
        _optimizer = new AdamW(_parameters, Options.LearningRate, weightDecay: Options.WeightDecay);
    }

    public LoraBert Model { get; }

    public ContrastiveTuningOptions Options { get; }

    /// <summary>Optimiser steps taken so far (over all <see cref="Fit"/> and <see cref="Step(IReadOnlyList{TextPair}, float)"/> calls).</summary>
    public int StepCount => _optimizer.StepCount;

    /// <summary>
    /// Symmetric InfoNCE over a batch: anchors and positives (n, d) unit rows, logits S = A·Pᵀ/τ (n, n);
    /// loss = ½·(CE(S, diagonal) + CE(Sᵀ, diagonal)).
    /// </summary>
    public static Tensor InBatchLoss(Tensor anchors, Tensor positives, float temperature)
    {
        ArgumentNullException.ThrowIfNull(anchors);
        ArgumentNullException.ThrowIfNull(positives);
        int n = anchors.Dim(0);
        var diagonal = Enumerable.Range(0, n).ToArray();
        var forward = Ops.Scale(Ops.MatMul(anchors, positives, transposeB: true), 1f / temperature);  // (n, n)
        var backward = Ops.Scale(Ops.MatMul(positives, anchors, transposeB: true), 1f / temperature); // (n, n) = Sᵀ
        return Ops.Scale(Ops.Add(Ops.CrossEntropy(forward, diagonal), Ops.CrossEntropy(backward, diagonal)), 0.5f);
    }

    /// <summary>
    /// Share of anchors whose nearest positive (cosine, over all positives of <paramref name="pairs"/>) is their own.
    /// Costs pairs² · hidden multiply-adds.
    /// </summary>
    public static double RetrievalAccuracy(LoraBert model, IReadOnlyList<TextPair> pairs, int maxLength = ContrastiveTuningOptions.DefaultMaxLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0)
        {
            return 0;
        }

        int h = model.Config.HiddenSize;
        int n = pairs.Count;
        var anchors = model.Encode([.. pairs.Select(p => p.Anchor)], maxLength);
        var positives = model.Encode([.. pairs.Select(p => p.Positive)], maxLength);
        var scores = new float[n * n]; // (anchors, positives)
        Gemm.Sgemm(false, true, n, n, h, 1f, anchors, h, positives, h, 0f, scores, n);
        int hits = 0;
        for (int i = 0; i < n; i++)
        {
            var row = scores.AsSpan(i * n, n);
            hits += TensorPrimitives.IndexOfMax(row) == i ? 1 : 0;
        }

        return (double)hits / n;
    }

    /// <summary>One step on <paramref name="batch"/> at <paramref name="learningRate"/>: forward, backward, clip, AdamW. Returns the loss.</summary>
    public float Step(IReadOnlyList<TextPair> batch, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Step(
            Model.Tokenize([.. batch.Select(p => p.Anchor)], Options.MaxLength),
            Model.Tokenize([.. batch.Select(p => p.Positive)], Options.MaxLength),
            learningRate);
    }

    /// <summary>One step on tokenised anchors and positives (row i of each is a pair).</summary>
    public float Step(TokenizedBatch anchors, TokenizedBatch positives, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(anchors);
        ArgumentNullException.ThrowIfNull(positives);
        if (anchors.BatchSize != positives.BatchSize || anchors.BatchSize < 2)
        {
            throw new ArgumentException("A step needs at least two pairs, as many anchors as positives.", nameof(positives));
        }

        _optimizer.ZeroGrad();
        float loss;
        using (var tape = new Tape())
        {
            var a = Model.SentenceVectors(anchors);   // (n, hidden)
            var p = Model.SentenceVectors(positives); // (n, hidden)
            var objective = InBatchLoss(a, p, Options.Temperature);
            loss = objective.ToScalar();
            tape.Backward(objective);
        }

        if (Options.MaxGradientNorm is { } maxNorm)
        {
            GradientClipping.ClipByGlobalNorm(_parameters, maxNorm);
        }

        _optimizer.LearningRate = learningRate;
        _optimizer.Step();
        return loss;
    }

    /// <summary>
    /// Trains on <paramref name="pairs"/> for <see cref="ContrastiveTuningOptions.Epochs"/> epochs or until
    /// <see cref="ContrastiveTuningOptions.MaxMinutes"/> pass. A final batch of fewer than two pairs is dropped.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled; the adapters keep the steps completed so far.</exception>
    public TuningResult Fit(IReadOnlyList<TextPair> pairs, IProgress<TuningProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        int batchSize = Options.BatchSize;
        int batchesPerEpoch = pairs.Count / batchSize + (pairs.Count % batchSize >= 2 ? 1 : 0);
        if (batchesPerEpoch == 0)
        {
            throw new ArgumentException($"Fine-tuning needs at least two pairs; got {pairs.Count}.", nameof(pairs));
        }

        int total = batchesPerEpoch * Options.Epochs;
        var order = Enumerable.Range(0, pairs.Count).ToArray();
        var rng = new Rng(Options.Seed);
        var clock = Stopwatch.StartNew();
        var limit = Options.MaxMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : TimeSpan.MaxValue;
        int step = 0;
        float firstEpochLoss = 0f;
        double epochLossSum = 0;
        int epochSteps = 0;
        var stop = TuningStop.Completed;
        var recent = new Queue<float>();
        double startLossSum = 0;
        for (int epoch = 1; epoch <= Options.Epochs && stop == TuningStop.Completed; epoch++)
        {
            rng.Shuffle(order.AsSpan());
            var batches = DistinctBatches(pairs, order, batchSize);
            epochLossSum = 0;
            epochSteps = 0;
            for (int b = 0; b < batches.Count; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = batches[b];
                float rate = RateAt(Math.Max((double)step / total, clock.Elapsed / limit));
                float loss = Step(batch, rate);
                step++;
                recent.Enqueue(loss);
                if (recent.Count > LossWindow) recent.Dequeue();
                if (step <= LossWindow) startLossSum += loss;
                epochLossSum += loss;
                epochSteps++;
                progress?.Report(new TuningProgress(step, total, epoch, loss, rate, clock.Elapsed));
                if (clock.Elapsed >= limit)
                {
                    stop = TuningStop.TimeLimit;
                    break;
                }
            }

            if (epoch == 1)
            {
                firstEpochLoss = (float)(epochLossSum / epochSteps);
            }
        }

        return new TuningResult(step, total, firstEpochLoss, (float)(epochLossSum / Math.Max(1, epochSteps)), stop, clock.Elapsed)
        {
            StartLoss = (float)(startLossSum / Math.Max(1, Math.Min(step, LossWindow))),
            EndLoss = recent.Count == 0 ? 0f : recent.Average(),
        };
    }

    /// <summary>
    /// The epoch's batches in <paramref name="order"/>, none holding the same text twice: a pair whose anchor or
    /// positive is already in the batch waits for a later one. Two items of one category share their category text, and
    /// in one batch each would be the other's negative, teaching the encoder to push apart what the shop files together.
    /// A last batch of fewer than two pairs is dropped.
    /// </summary>
    public static List<TextPair[]> DistinctBatches(IReadOnlyList<TextPair> pairs, int[] order, int batchSize)
    {
        var batches = new List<TextPair[]>(order.Length / batchSize + 1);
        var waiting = new Queue<int>();
        var current = new List<TextPair>(batchSize);
        var texts = new HashSet<string>(StringComparer.Ordinal);
        int next = 0;
        while (next < order.Length || waiting.Count > 0)
        {
            // One pass over the waiting pairs, then new ones, until the batch is full or nothing fits.
            int waited = waiting.Count;
            for (int w = 0; w < waited && current.Count < batchSize; w++)
            {
                int i = waiting.Dequeue();
                if (!TryAdd(i)) waiting.Enqueue(i);
            }
            while (current.Count < batchSize && next < order.Length)
            {
                int i = order[next++];
                if (!TryAdd(i)) waiting.Enqueue(i);
            }
            if (current.Count == 0) break;
            if (current.Count < batchSize && next < order.Length) continue;
            if (current.Count >= 2) batches.Add([.. current]);
            bool progress = current.Count > 0;
            current.Clear();
            texts.Clear();
            if (next >= order.Length && !progress) break;
        }
        return batches;

        bool TryAdd(int i)
        {
            var pair = pairs[i];
            if (texts.Contains(pair.Anchor) || texts.Contains(pair.Positive)) return false;
            texts.Add(pair.Anchor);
            texts.Add(pair.Positive);
            current.Add(pair);
            return true;
        }
    }

    /// <summary>Steps whose mean loss is reported at the start and end of a run.</summary>
    private const int LossWindow = 50;

    /// <summary>
    /// Linear warm-up then linear decay to zero over the run's progress, the larger of the share of planned steps done
    /// and the share of the time limit spent: under a time limit the rate still reaches zero when time runs out.
    /// </summary>
    private float RateAt(double progress)
    {
        var warmup = Options.WarmupFraction;
        progress = Math.Clamp(progress, 0, 1);
        if (warmup > 0 && progress < warmup) return (float)(Options.LearningRate * Math.Max(progress / warmup, 1e-3));
        return (float)(Options.LearningRate * Math.Max(0, (1 - progress) / Math.Max(1e-9, 1 - warmup)));
    }
}
