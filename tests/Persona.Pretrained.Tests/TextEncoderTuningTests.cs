using Persona.Neural.Bert.Lora;

namespace Persona.Pretrained.Tests;

/// <summary>LoRA fine-tuning of the packaged MiniLM through <see cref="TextEncoderTuning"/>: what serves is what was trained.</summary>
public sealed class TextEncoderTuningTests
{
    private static List<TextPair> Pairs()
    {
        string[] colours = ["red", "blue", "green", "black", "white", "pink", "gold", "silver"];
        string[] kinds = ["lipstick", "mascara", "shampoo", "serum"];
        return [.. colours.SelectMany(c => kinds.Select(k => new TextPair($"{c} {k}", $"{k} in {c} for everyday wear")))];
    }

    [Fact]
    public void FineTune_MiniLm_ServesTheAdaptedForwardMergedIntoTheBase()
    {
        var pairs = Pairs();
        var tuning = new TextEncoderTuningOptions { Rank = 4, Alpha = 8, BatchSize = 16, Epochs = 1, LearningRate = 1e-2f, MaxMinutes = 2 };

        var tuned = TextEncoderTuning.FineTune(PretrainedEncoders.MiniLm, pairs, tuning, new PretrainedEncoderOptions { Threads = 2 });

        Assert.Equal("minilm+lora", tuned.Encoder.Kind);
        Assert.Equal("minilm-L6-v2", tuned.BaseIdentity);
        Assert.StartsWith("minilm-L6-v2+lora-", tuned.Encoder.Version, StringComparison.Ordinal);
        Assert.True(tuned.Result.Steps >= 2);
        // The served (merged) vectors equal the adapted model's forward on the tape.
        var (baseModel, _, _, _) = TextEncoderTuning.OpenBase(PretrainedEncoders.MiniLm);
        var adapted = LoraBert.Create(baseModel, tuned.Adapters);
        string[] texts = ["red lipstick", "shampoo in gold for everyday wear"];
        var expected = adapted.Encode(texts);
        var served = new float[texts.Length * tuned.Encoder.Dimension];
        tuned.Encoder.EncodeBatch(texts, served);
        for (var i = 0; i < served.Length; i++) Assert.Equal(expected[i], served[i], 1e-4f);
        // And they differ from the base's.
        var plain = PretrainedEncoders.Open(PretrainedEncoders.MiniLm, new PretrainedEncoderOptions { Engine = PretrainedEngine.Own, Threads = 2 }).Encode(texts[0]);
        Assert.NotEqual(plain, tuned.Encoder.Encode(texts[0]));
    }

    [Fact]
    public void WithAdapters_OfAnotherBase_IsRefused()
    {
        var file = Path.Combine(Path.GetTempPath(), $"persona-lora-{Guid.NewGuid():N}.safetensors");
        try
        {
            var (model, _, _, _) = TextEncoderTuning.OpenBase(PretrainedEncoders.MiniLm);
            LoraAdapters.Create(model.Config, new LoraOptions { Rank = 2 }, seed: 3).Save(file, "sha256:another-base");

            var error = Assert.Throws<InvalidDataException>(() => TextEncoderTuning.WithAdapters(PretrainedEncoders.MiniLm, file));
            Assert.Contains("another-base", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
