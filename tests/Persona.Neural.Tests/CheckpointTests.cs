using Persona.Neural;
using Persona.Neural.Modules;

namespace Persona.Neural.Tests;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "persona-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    internal sealed record EncoderConfig(int Layers, int Dim, int Heads, int FfDim, bool PreNorm);

    [Fact]
    public void SaveLoad_TransformerEncoder_RoundTripsParametersOutputsAndConfig()
    {
        var config = new EncoderConfig(2, 8, 2, 16, PreNorm: false);
        var source = Build(config, seed: 1);
        Checkpoint.Save(source, _dir, config);

        var restoredConfig = Checkpoint.ReadConfig<EncoderConfig>(_dir);
        Assert.Equal(config, restoredConfig);
        var target = Build(restoredConfig, seed: 99);
        var loaded = Checkpoint.Load(target, _dir);

        Assert.Equal(source.NamedParameters().Count(), loaded.Count);
        foreach (var ((name, a), (_, b)) in source.NamedParameters().Zip(target.NamedParameters()))
        {
            Assert.True(a.Data.SequenceEqual(b.Data), name);
        }

        var x = Tensor.FromArray(Enumerable.Range(0, 48).Select(i => MathF.Sin(i)).ToArray(), 2, 3, 8);
        source.Eval();
        target.Eval();
        Assert.Equal(source.Forward(x, causal: true).ToArray(), target.Forward(x, causal: true).ToArray());
        Assert.True(File.Exists(Path.Combine(_dir, Checkpoint.WeightsFileName)));
    }

    [Fact]
    public void Load_ShapeMismatch_ThrowsNamingTheTensor()
    {
        Checkpoint.Save(new Linear(3, 2, new Rng(1)), _dir);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(new Linear(4, 2, new Rng(1)), _dir));
        Assert.Contains("weight", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_StrictWithMissingOrExtraTensors_Throws_NonStrictLoadsWhatMatches()
    {
        Checkpoint.Save(new Linear(3, 2, new Rng(1), bias: false), _dir);
        Assert.Throws<InvalidDataException>(() => Checkpoint.Load(new Linear(3, 2, new Rng(2)), _dir));
        var withBias = new Linear(3, 2, new Rng(2));
        Assert.Equal(["weight"], Checkpoint.Load(withBias, _dir, strict: false));

        Checkpoint.Save(new Linear(3, 2, new Rng(1)), _dir);
        Assert.Throws<InvalidDataException>(() => Checkpoint.Load(new Linear(3, 2, new Rng(2), bias: false), _dir));
    }

    private static TransformerEncoder Build(EncoderConfig c, int seed) =>
        new(c.Layers, c.Dim, c.Heads, c.FfDim, new Rng((ulong)seed), dropout: 0f, preNorm: c.PreNorm);
}
