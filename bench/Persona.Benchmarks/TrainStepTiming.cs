using System.Diagnostics;
using System.Globalization;
using Persona.Core.Evaluation.NextItem;
using Persona.Core.Models.Sequence;
using Persona.Neural;
using Persona.Neural.Optim;
using Persona.Numerics;

namespace Persona.Benchmarks;

/// <summary>
/// Times training steps of the product's sequence transformer (<see cref="SequenceNetwork"/>, default
/// <see cref="SequenceTrainingOptions"/>) on Amazon Beauty's real batches, for the side-by-side with PyTorch in
/// <c>bench/scripts/train_step_ratio.sh</c> (its twin is <c>bench/scripts/torch_step.py</c>). Data: <c>Beauty.txt</c> with
/// <c>Beauty_item2attributes.json</c> (the file both sides can read), sequences as given. Batches are the trainer's: each
/// user's window (all but the last two steps, the newest MaxLength + 1 at most) sorted by length and cut into batches,
/// so an epoch's (batch, seq) shapes are real; one epoch's batches are timed, building each batch included, after
/// warm-up steps on the longest batches.
/// <para>The step repeats <c>SequenceTrainer.Step</c> (private there) line for line: item table, encoder, loss at every
/// position against shared uniform negatives or the whole catalog, clipping at 5, AdamW. Keep the two in step until the
/// trainer exposes its step.</para>
/// </summary>
public static class TrainStepTiming
{
    // dotnet run -c Release --project bench/Persona.Benchmarks -- --train-step [--data DIR] [--negatives N] [--steps N] [--warmup N]
    public static void Run(string[] args)
    {
        var directory = Arg(args, "--data") ?? "../shared/datasets/amazon-beauty";
        var negatives = int.Parse(Arg(args, "--negatives") ?? SequenceTrainingOptions.DefaultSampledNegatives.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        var steps = int.Parse(Arg(args, "--steps") ?? "0", CultureInfo.InvariantCulture);
        var warmup = int.Parse(Arg(args, "--warmup") ?? "3", CultureInfo.InvariantCulture);
        var options = new SequenceTrainingOptions { SampledNegatives = negatives };

        var file = Path.Combine(directory, "Beauty.txt");
        var read = SequenceFileReader.ReadAsync(file).GetAwaiter().GetResult();
        var items = SequenceFileReader.ReadAttributeMapAsync(SequenceFileReader.AttributesFile(file)).GetAwaiter().GetResult();
        var data = SequenceDataset.Build(read.Events, items, read.Options);

        var rng = new Rng((ulong)options.Seed);
        var network = new SequenceNetwork(new SequenceNetworkConfig
        {
            ItemCount = data.ItemCount,
            AttributeCount = data.Vocabulary.AttributeCount,
            Dimension = options.Dimension,
            Layers = options.Layers,
            Heads = options.Heads,
            MaxLength = options.MaxLength,
            Dropout = options.Dropout,
        }, rng.Fork());
        network.SetItemAttributes(data.ItemAttributes);
        network.Train();
        var parameters = network.Parameters().ToList();
        var optimizer = new AdamW(parameters, options.LearningRate, beta1: 0.9f, beta2: 0.98f, weightDecay: options.WeightDecay);
        var negativeRng = rng.Fork();

        var epoch = Batches(data, options.BatchSize, options.MaxLength);
        var timed = steps <= 0 || steps >= epoch.Count ? epoch : Enumerable.Range(0, steps).Select(k => epoch[k * epoch.Count / steps]).ToList();
        var loss = negatives > 0 && negatives < data.ItemCount ? $"sampled-{negatives}" : "full-softmax";
        Console.WriteLine($"persona .NET {Environment.Version}, {Environment.ProcessorCount} cores, GEMM {Gemm.ActiveBackend}; {data.Users.Count:N0} users, {data.ItemCount:N0} items, " +
            $"{data.Vocabulary.AttributeCount:N0} attributes; {epoch.Count} batches per epoch, timing {timed.Count}; {loss}");
        foreach (var batch in epoch.OrderByDescending(b => b[^1].Length).Take(warmup))
        {
            Step(network, optimizer, parameters, data, batch, options, negativeRng);
        }

        var clock = Stopwatch.StartNew();
        var lossSum = 0.0;
        foreach (var batch in timed)
        {
            lossSum += Step(network, optimizer, parameters, data, batch, options, negativeRng);
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"persona {loss}: {timed.Count} steps in {seconds:F2} s, {1000 * seconds / timed.Count:F1} ms/step, mean loss {lossSum / timed.Count:F3}"));
        Console.WriteLine(string.Create(c, $"RESULT persona {loss} {timed.Count} {seconds:F3} {1000 * seconds / timed.Count:F2}"));
    }

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>The trainer's windows, sorted by length (then user) and cut into batches.</summary>
    private static List<(int User, int Start, int Length)[]> Batches(SequenceDataset data, int batchSize, int maxLength)
    {
        var samples = new List<(int User, int Start, int Length)>();
        for (var u = 0; u < data.Users.Count; u++)
        {
            var trainLength = data.Users[u].Length - 2;
            if (trainLength < 2) continue;
            var window = Math.Min(trainLength, maxLength + 1);
            samples.Add((u, trainLength - window, window));
        }

        var sorted = samples.OrderBy(s => s.Length).ThenBy(s => s.User).ToArray();
        return Enumerable.Range(0, (sorted.Length + batchSize - 1) / batchSize).Select(b => sorted.Skip(b * batchSize).Take(batchSize).ToArray()).ToList();
    }

    /// <summary>SequenceTrainer.Step: one batch forward, backward, clipping and AdamW; returns the loss.</summary>
    private static float Step(
        SequenceNetwork network, AdamW optimizer, List<Tensor> parameters, SequenceDataset data, (int User, int Start, int Length)[] batch,
        SequenceTrainingOptions options, Rng negativeRng)
    {
        var count = batch.Length;
        var seq = batch.Max(b => b.Length) - 1;
        var items = new int[count * seq];
        var types = new int[count * seq];
        var gaps = new int[count * seq];
        var targets = new int[count * seq];
        Array.Fill(items, -1);
        Array.Fill(targets, -1);
        for (var i = 0; i < count; i++)
        {
            var (u, start, length) = batch[i];
            var user = data.Users[u];
            for (var t = 0; t < length - 1; t++)
            {
                var k = (i * seq) + t;
                items[k] = user.Items[start + t];
                types[k] = user.Types[start + t];
                gaps[k] = t == 0 ? 0 : user.Gaps[start + t];
                targets[k] = user.Items[start + t + 1] - 1; // class = item index − 1
            }
        }

        using var tape = new Tape();
        var table = network.ItemTable(options.ItemIdDropout, negativeRng);        // (items + 1, dim)
        var x = Ops.Embedding(table, items, count, seq);                        // (batch, seq, dim)
        var h = network.Encode(x, types, gaps);                                 // (batch, seq, dim)
        var hidden = Ops.Reshape(h, count * seq, options.Dimension);            // (batch·seq, dim)
        var classes = Ops.Slice(table, 0, 1, data.ItemCount);                   // (items, dim)
        Tensor loss;
        if (options.SampledNegatives > 0 && options.SampledNegatives < data.ItemCount)
        {
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
