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
/// <para>Each step is the trainer's own (<see cref="SequenceTrainer.Step"/>): item table, encoder, loss at every position
/// against shared uniform negatives or the whole catalog, clipping at 5, AdamW.</para>
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
        // The negatives asked for are used whatever the catalog's size, so both losses can be timed on Beauty.
        var options = new SequenceTrainingOptions { SampledNegatives = negatives, FullSoftmaxMaxItems = 0 };

        var file = Path.Combine(directory, "Beauty.txt");
        var read = SequenceFileReader.ReadAsync(file).GetAwaiter().GetResult();
        var items = SequenceFileReader.ReadAttributeMapAsync(SequenceFileReader.AttributesFile(file)).GetAwaiter().GetResult();
        var data = SequenceDataset.Build(read.Events, items, read.Options);

        var rng = new Rng((ulong)options.Seed);
        var network = SequenceTrainer.CreateNetwork(data, options, rng.Fork());
        network.Train();
        var parameters = network.Parameters().ToList();
        var optimizer = new AdamW(parameters, options.LearningRate, beta1: 0.9f, beta2: 0.98f, weightDecay: options.WeightDecay);
        var negativeRng = rng.Fork();

        var epoch = Batches(data, options.BatchSize, options.MaxLength);
        var timed = steps <= 0 || steps >= epoch.Count ? epoch : Enumerable.Range(0, steps).Select(k => epoch[k * epoch.Count / steps]).ToList();
        var loss = options.UsesFullSoftmax(data.ItemCount) ? "full-softmax" : $"sampled-{negatives}";
        Console.WriteLine($"persona .NET {Environment.Version}, {Environment.ProcessorCount} cores, GEMM {Gemm.ActiveBackend}; {data.Users.Count:N0} users, {data.ItemCount:N0} items, " +
            $"{data.Vocabulary.AttributeCount:N0} attributes; {epoch.Count} batches per epoch, timing {timed.Count}; {loss}");
        foreach (var batch in epoch.OrderByDescending(b => b[^1].Length).Take(warmup))
        {
            SequenceTrainer.Step(network, optimizer, parameters, data, batch, options, negativeRng);
        }

        var clock = Stopwatch.StartNew();
        var lossSum = 0.0;
        foreach (var batch in timed)
        {
            lossSum += SequenceTrainer.Step(network, optimizer, parameters, data, batch, options, negativeRng);
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
}
