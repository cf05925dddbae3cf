using System.Diagnostics;
using System.Globalization;
using Persona.Neural.Bert;
using Persona.Neural.Bert.Lora;
using Persona.Numerics;

namespace Persona.Benchmarks;

/// <summary>
/// Times LoRA fine-tuning steps (<see cref="ContrastiveTuner.Step(Persona.Neural.Text.TokenizedBatch, Persona.Neural.Text.TokenizedBatch, float)"/>:
/// forward of anchors and positives, symmetric in-batch InfoNCE, backward into the adapters, clipping, AdamW) at
/// all-MiniLM-L6-v2's shape (6 layers, hidden 384, 12 heads, intermediate 1536, vocab 30522) with random base weights.
/// Every text is exactly --tokens tokens ([CLS] and [SEP] included) of random placeholder words, so no padding; the
/// batches are tokenised before the clock starts.
/// </summary>
public static class LoraStepTiming
{
    // dotnet run -c Release --project bench/Persona.Benchmarks -- --lora-step [--pairs 32] [--tokens 32] [--rank 8] [--targets q,v] [--steps 10] [--warmup 2]
    public static void Run(string[] args)
    {
        var c = CultureInfo.InvariantCulture;
        int pairs = int.Parse(Arg(args, "--pairs") ?? "32", c);
        int tokens = int.Parse(Arg(args, "--tokens") ?? "32", c);
        int rank = int.Parse(Arg(args, "--rank") ?? "8", c);
        int steps = int.Parse(Arg(args, "--steps") ?? "10", c);
        int warmup = int.Parse(Arg(args, "--warmup") ?? "2", c);
        var targets = LoraOptions.ParseTargets(Arg(args, "--targets") ?? "q,v");
        var config = new BertConfig
        {
            VocabSize = 30522, HiddenSize = 384, NumHiddenLayers = 6, NumAttentionHeads = 12, IntermediateSize = 1536,
            MaxPositionEmbeddings = 512, TypeVocabSize = 2, HiddenAct = "gelu",
        };

        var model = LoraBert.CreateWithRandomBase(config, new LoraOptions { Rank = rank, Alpha = 2 * rank, Targets = targets }, seed: 1);
        var tuner = new ContrastiveTuner(model, new ContrastiveTuningOptions { BatchSize = pairs, MaxLength = tokens });
        var rng = new Random(2);
        string Text() => string.Join(' ', Enumerable.Range(0, tokens - 2).Select(_ => $"t{rng.Next(5, config.VocabSize)}"));
        var batches = Enumerable.Range(0, warmup + steps)
            .Select(_ => (Anchors: model.Tokenize([.. Enumerable.Range(0, pairs).Select(_ => Text())], tokens),
                          Positives: model.Tokenize([.. Enumerable.Range(0, pairs).Select(_ => Text())], tokens)))
            .ToList();
        if (batches[0].Anchors.SequenceLength != tokens)
        {
            throw new InvalidOperationException($"Texts tokenised to {batches[0].Anchors.SequenceLength} tokens, not {tokens}.");
        }

        Console.WriteLine($"persona .NET {Environment.Version}, {Environment.ProcessorCount} cores, GEMM {Gemm.ActiveBackend}; " +
            $"MiniLM-L6 shape, {pairs} pairs ({2 * pairs} texts) x {tokens} tokens, rank {rank} on {LoraOptions.FormatTargets(targets)} " +
            $"({model.Adapters.ParameterCount:N0} trainable values); loadavg {LoadAverage()}");
        foreach (var (anchors, positives) in batches.Take(warmup))
        {
            tuner.Step(anchors, positives, 1e-4f);
        }

        var times = new List<double>();
        float loss = 0;
        foreach (var (anchors, positives) in batches.Skip(warmup))
        {
            var clock = Stopwatch.StartNew();
            loss = tuner.Step(anchors, positives, 1e-4f);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        Console.WriteLine(string.Create(c,
            $"lora step: {steps} steps, mean {times.Average():F0} ms, median {times[times.Count / 2]:F0} ms, min {times[0]:F0} ms; last loss {loss:F3}; loadavg {LoadAverage()}"));
        // One more step with every GEMM recorded: how much of the step is matrix products, and at what rate.
        var mainThread = Environment.CurrentManagedThreadId;
        GemmProfiler.Start();
        var profiled = Stopwatch.StartNew();
        tuner.Step(batches[^1].Anchors, batches[^1].Positives, 1e-4f);
        double wall = profiled.Elapsed.TotalSeconds;
        var calls = GemmProfiler.Stop();
        double gemmSeconds = calls.Where(g => g.ThreadId == mainThread).Sum(g => g.Seconds) +
                             (calls.Where(g => g.ThreadId != mainThread).Sum(g => g.Seconds) / Environment.ProcessorCount);
        double flops = calls.Sum(g => g.Flops);
        Console.WriteLine(string.Create(c,
            $"profiled step {wall * 1000:F0} ms: GEMM {gemmSeconds / wall:P0} of wall, {flops / 1e9:F1} GFLOP at {flops / gemmSeconds / 1e9:F1} GFLOP/s"));
        Console.WriteLine(string.Create(c, $"RESULT lora-step {pairs} {tokens} {rank} {times.Average():F1} {times[times.Count / 2]:F1}"));
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
