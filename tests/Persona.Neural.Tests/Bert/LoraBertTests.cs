using System.Text.Json;
using Xunit.Abstractions;
using Persona.Neural.Bert;
using Persona.Neural.Bert.Lora;

namespace Persona.Neural.Tests.Bert;

/// <summary>LoRA adapters on the tiny golden BERT checkpoints: the tape forward, its gradients, merging and files.</summary>
public sealed class LoraBertTests(ITestOutputHelper output)
{
    private const LoraTargets AllTargets = LoraTargets.Query | LoraTargets.Key | LoraTargets.Value | LoraTargets.Output;

    [GoldenTheory]
    [InlineData("zh")]
    [InlineData("en")]
    public void HiddenStatesAndSentenceVectors_ZeroAdapters_EqualBertEncoderOnGoldenCases(string model)
    {
        var encoder = BertEncoder.Load(GoldenData.Path("bert-tiny", model));
        var lora = LoraBert.Create(encoder, new LoraOptions { Targets = AllTargets }, seed: 1);
        foreach (var line in File.ReadLines(GoldenData.Path("bert-tiny", model, "golden.jsonl")).Where(l => l.Length > 0))
        {
            using var doc = JsonDocument.Parse(line);
            var c = doc.RootElement;
            var texts = c.GetProperty("texts").EnumerateArray().Select(e => e.GetString()!).ToArray();
            var pairs = c.GetProperty("text_pairs").ValueKind == JsonValueKind.Null
                ? null
                : c.GetProperty("text_pairs").EnumerateArray().Select(e => e.GetString()!).ToArray();
            var expected = encoder.Encode(texts, pairs);

            // Recording, as in training: the adapters require gradients, so every layer is on the tape.
            using var tape = new Tape();
            var hidden = lora.HiddenStates(expected.Inputs);
            var sentences = lora.SentenceVectors(expected.Inputs);
            AssertClose(expected.LastHiddenState, hidden.Data, 1e-4f);
            AssertClose(expected.SentenceEmbedding, sentences.Data, 1e-5f);
            Assert.True(tape.RecordedOperations > 0);
        }
    }

    [GoldenFact]
    public void InBatchLoss_AdapterGradients_MatchFiniteDifferences()
    {
        var encoder = BertEncoder.Load(GoldenData.Path("bert-tiny", "en"));
        var lora = LoraBert.Create(encoder, new LoraOptions { Rank = 2, Alpha = 4, Targets = AllTargets }, seed: 7);
        // B = 0 would make every A gradient exactly zero; give B values so both factors are checked.
        var rng = new Rng(11);
        foreach (var adapter in lora.Adapters.Adapters)
        {
            rng.FillUniform(adapter.B.Data, -0.2f, 0.2f);
        }

        var anchors = lora.Tokenize(["red running shoes", "wireless earbuds", "steel water bottle"]);
        var positives = lora.Tokenize(["nike air zoom red size 42", "bluetooth in-ear headphones", "insulated bottle 750 ml"]);
        var parameters = lora.Adapters.Parameters.ToArray();
        // The loss (~2) is computed in float32 through four LayerNorms and a τ = 0.05 softmax, so one evaluation carries
        // ~1e-6 absolute round-off; over a 2·1e-2 central step that is ~5e-5 in the quotient (Richardson's weights make it
        // ~1e-4 at worst). atol 2e-4 sits above that noise and still far below the gradients (~1e-2): dropping the
        // input-gradient path of the adapters, for one, fails here by 3e-3.
        GradCheck.Check(
            () => ContrastiveTuner.InBatchLoss(lora.SentenceVectors(anchors), lora.SentenceVectors(positives), 0.05f),
            parameters,
            seed: 5,
            probesPerTensor: 6,
            step: 1e-2f,
            rtol: 1e-2,
            atol: 2e-4);
    }

    [GoldenFact]
    public void Fit_SyntheticPairs_LowersLossAndRaisesRetrievalAccuracy_BaseUntouched()
    {
        var encoder = BertEncoder.Load(GoldenData.Path("bert-tiny", "en"));
        var pairs = SyntheticPairs();
        var probe = pairs.Select(p => p.Positive).Take(8).ToArray();
        var baseBefore = encoder.Encode(probe).SentenceEmbedding;
        var lora = LoraBert.Create(encoder, new LoraOptions { Rank = 4, Alpha = 8 }, seed: 3);
        double before = ContrastiveTuner.RetrievalAccuracy(lora, pairs);

        var reports = new List<TuningProgress>();
        var tuner = new ContrastiveTuner(lora, new ContrastiveTuningOptions { Epochs = 12, BatchSize = 16, LearningRate = 1e-2f, Seed = 9 });
        var result = tuner.Fit(pairs, new SynchronousProgress<TuningProgress>(reports.Add));
        double after = ContrastiveTuner.RetrievalAccuracy(lora, pairs);

        output.WriteLine($"{result.Steps} steps in {result.Elapsed.TotalMilliseconds:F0} ms; loss {result.FirstEpochLoss:F3} → {result.LastEpochLoss:F3}; accuracy {before:F3} → {after:F3}");
        Assert.Equal(TuningStop.Completed, result.StoppedBy);
        Assert.Equal(result.TotalSteps, result.Steps);
        Assert.Equal(result.Steps, reports.Count);
        Assert.Equal(Enumerable.Range(1, result.Steps), reports.Select(r => r.Step));
        Assert.True(result.LastEpochLoss < 0.7f * result.FirstEpochLoss, $"loss {result.FirstEpochLoss} → {result.LastEpochLoss}");
        Assert.True(after >= before + 0.2, $"retrieval accuracy {before:F3} → {after:F3}");
        Assert.Equal(baseBefore, encoder.Encode(probe).SentenceEmbedding);
    }

    [GoldenFact]
    public void Fit_SameSeed_GivesIdenticalAdapters()
    {
        var encoder = BertEncoder.Load(GoldenData.Path("bert-tiny", "en"));
        var pairs = SyntheticPairs();
        var options = new ContrastiveTuningOptions { Epochs = 2, BatchSize = 8, Seed = 4 };
        float[] Train()
        {
            var lora = LoraBert.Create(encoder, seed: 2);
            new ContrastiveTuner(lora, options).Fit(pairs);
            return [.. lora.Adapters.Parameters.SelectMany(p => p.ToArray())];
        }

        Assert.Equal(Train(), Train());
    }

    [GoldenFact]
    public void Fit_Cancelled_Throws()
    {
        var encoder = BertEncoder.Load(GoldenData.Path("bert-tiny", "en"));
        var tuner = new ContrastiveTuner(LoraBert.Create(encoder));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => tuner.Fit(SyntheticPairs(), cancellationToken: cancelled.Token));
        Assert.Equal(0, tuner.StepCount);
    }

    [GoldenFact]
    public void Fit_TimeLimit_StopsEarly()
    {
        var encoder = BertEncoder.Load(GoldenData.Path("bert-tiny", "en"));
        var tuner = new ContrastiveTuner(LoraBert.Create(encoder), new ContrastiveTuningOptions { Epochs = 1000, BatchSize = 8, MaxMinutes = 1e-9 });
        var result = tuner.Fit(SyntheticPairs());
        Assert.Equal(TuningStop.TimeLimit, result.StoppedBy);
        Assert.Equal(1, result.Steps);
    }

    [GoldenTheory]
    [InlineData("en")]
    [InlineData("zh")]
    public void MergeAdapters_TrainedAdapters_InferenceVectorsEqualTapeForward(string model)
    {
        var encoder = BertEncoder.Load(GoldenData.Path("bert-tiny", model));
        var lora = LoraBert.Create(encoder, new LoraOptions { Rank = 3, Alpha = 5, Targets = AllTargets }, seed: 8);
        var rng = new Rng(12);
        foreach (var adapter in lora.Adapters.Adapters)
        {
            rng.FillUniform(adapter.B.Data, -0.3f, 0.3f);
        }

        string[] texts = ["Apple iPhone 15 Pro Max 256GB", "wireless earbuds with charging case", "苹果手机 256GB 钛金属", "x"];
        var merged = lora.Merge().Encode(texts);
        var adapted = lora.Encode(texts);
        var unadapted = encoder.Encode(texts).SentenceEmbedding;
        AssertClose(merged.SentenceEmbedding, adapted, 1e-5f);
        Assert.True(MaxDiff(unadapted, adapted) > 1e-2, "the adapters should change the vectors");
    }

    [GoldenFact]
    public void SaveLoad_RoundTrip_SameVectors_AndOtherBaseRefused()
    {
        string dir = GoldenData.Path("bert-tiny", "en");
        var encoder = BertEncoder.Load(dir);
        var options = new LoraOptions { Rank = 2, Alpha = 3, Targets = LoraTargets.Value | LoraTargets.Output };
        var lora = LoraBert.Create(encoder, options, seed: 5);
        new ContrastiveTuner(lora, new ContrastiveTuningOptions { Epochs = 2, BatchSize = 8 }).Fit(SyntheticPairs());
        string identity = LoraAdapters.IdentityOf(dir);
        string path = Path.Combine(Path.GetTempPath(), $"lora-{Guid.NewGuid():N}.safetensors");
        try
        {
            lora.Adapters.Save(path, identity);
            var loaded = LoraAdapters.Load(path, encoder.Config, identity);
            Assert.Equal(options, loaded.Options);
            string[] texts = ["red running shoes", "insulated bottle"];
            Assert.Equal(lora.Encode(texts), LoraBert.Create(encoder, loaded).Encode(texts));

            var error = Assert.Throws<InvalidDataException>(() => LoraAdapters.Load(path, encoder.Config, LoraAdapters.IdentityOf(GoldenData.Path("bert-tiny", "zh"))));
            Assert.Contains("trained on base", error.Message);
            var zh = BertEncoder.Load(GoldenData.Path("bert-tiny", "zh"));
            Assert.Throws<InvalidDataException>(() => LoraAdapters.Load(path, zh.Config, identity));
        }
        finally
        {
            File.Delete(path);
        }
    }

    // Queries (colour + category) paired with titles that share the words: learnable, but the random base ranks poorly.
    private static List<TextPair> SyntheticPairs()
    {
        string[] colours = ["red", "blue", "green", "black", "white", "yellow", "pink", "grey"];
        string[] things = ["shoes", "jacket", "bottle", "lamp", "chair", "phone", "watch", "bag"];
        var pairs = new List<TextPair>();
        for (int c = 0; c < colours.Length; c++)
        {
            for (int t = 0; t < things.Length; t++)
            {
                if ((c + t) % 2 == 0)
                {
                    pairs.Add(new TextPair($"{colours[c]} {things[t]}", $"{things[t]} in {colours[c]} colour, new model"));
                }
            }
        }

        return pairs;
    }

    private static double MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        }

        return worst;
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = MaxDiff(expected, actual);
        Assert.True(worst <= tolerance, $"max |diff| {worst:E2} > {tolerance:E0}");
    }

    // Progress<T> posts to the thread pool; the test wants every report before Fit returns.
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
