using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Persona.Neural.Bert;
using Persona.Neural.Serialization;

namespace Persona.Neural.Tests.Bert;

public sealed class BertEncoderTests : IDisposable
{
    private static readonly string[] Words = ["red", "shoe", "bag", "phone", "case", "tea", "cup", "blue", "hat", "x"];

    private readonly string _dir = Directory.CreateTempSubdirectory("persona-bert-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Encode_RandomTinyModels_MatchScalarFloat64Reference()
    {
        var cases = Gen.Zip(Gen.Choose(1, 3), Gen.Choose(0, 1_000_000)).ToArbitrary();
        int n = 0;
        var property = Prop.ForAll(cases, c =>
        {
            var (heads, seed) = c;
            var model = TinyModel.Create(Path.Combine(_dir, $"m{n++}"), seed, hidden: heads * 4, heads, layers: 2, withPooler: true);
            var random = new Random(seed);
            var texts = Enumerable.Range(0, 3).Select(_ => RandomText(random)).ToArray();
            var pairs = random.Next(2) == 0 ? null : Enumerable.Range(0, 3).Select(_ => RandomText(random)).ToArray();

            var encoder = BertEncoder.Load(model.Directory);
            var output = encoder.Encode(texts, pairs);

            for (int b = 0; b < output.BatchSize; b++)
            {
                var expected = model.Reference(output.Inputs.RowIds(b).ToArray(), output.Inputs.RowTypes(b).ToArray(), output.Inputs.RowMask(b).ToArray());
                for (int t = 0; t < output.SequenceLength; t++)
                {
                    AssertClose(expected.Hidden[t], output.HiddenState(b, t));
                }

                AssertClose(expected.Pooler, output.Pooler(b));
                AssertClose(expected.Sentence, output.Sentence(b));
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(15), property);
    }

    [Fact]
    public void Load_PrefixedCheckpointWithoutPooler_GivesSameStatesAndNoPooler()
    {
        var plain = TinyModel.Create(Path.Combine(_dir, "plain"), 7, hidden: 8, heads: 2, layers: 1, withPooler: true);
        var prefixed = TinyModel.Create(Path.Combine(_dir, "prefixed"), 7, hidden: 8, heads: 2, layers: 1, withPooler: false, prefix: "bert.");
        string[] texts = ["red shoe", "blue hat x x"];

        var a = BertEncoder.Load(plain.Directory).Encode(texts);
        var encoder = BertEncoder.Load(prefixed.Directory);
        var b = encoder.Encode(texts);

        Assert.False(encoder.HasPooler);
        Assert.Null(b.PoolerOutput);
        Assert.Throws<InvalidOperationException>(() => b.Pooler(0).Length);
        Assert.Equal(a.LastHiddenState, b.LastHiddenState);
        Assert.Equal(a.SentenceEmbedding, b.SentenceEmbedding);
    }

    [Fact]
    public void Encode_PaddedBatchRow_EqualsRowEncodedAlone()
    {
        var model = TinyModel.Create(Path.Combine(_dir, "pad"), 11, hidden: 12, heads: 3, layers: 2, withPooler: true);
        var encoder = BertEncoder.Load(model.Directory);

        var batch = encoder.Encode(["tea", "red shoe bag phone case"]);
        var alone = encoder.Encode(["tea"]);

        Assert.Equal(7, batch.SequenceLength);
        Assert.Equal(3, alone.SequenceLength);
        for (int t = 0; t < 3; t++)
        {
            AssertClose(alone.HiddenState(0, t).ToArray().Select(v => (double)v).ToArray(), batch.HiddenState(0, t), 1e-5);
        }

        AssertClose(alone.Sentence(0).ToArray().Select(v => (double)v).ToArray(), batch.Sentence(0), 1e-5);
        Assert.Equal(1.0, Math.Sqrt(batch.Sentence(1).ToArray().Sum(v => (double)v * v)), 1e-5);
    }

    [Fact]
    public void Encode_LongInput_TruncatedToMaxPositionsAndLongerLimitRejected()
    {
        var model = TinyModel.Create(Path.Combine(_dir, "long"), 3, hidden: 8, heads: 2, layers: 1, withPooler: true);
        var encoder = BertEncoder.Load(model.Directory);
        string text = string.Join(' ', Enumerable.Repeat("red", 40));

        var output = encoder.Encode([text]);

        Assert.Equal(TinyModel.MaxPositions, output.SequenceLength);
        Assert.True(output.Inputs.Truncated[0]);
        Assert.Equal(5, encoder.Encode([text], maxLength: 5).SequenceLength);
        Assert.Throws<ArgumentOutOfRangeException>(() => encoder.Encode([text], maxLength: TinyModel.MaxPositions + 1));
    }

    [Fact]
    public void Load_TensorShapeDisagreesWithConfig_ThrowsNamingTheTensor()
    {
        var model = TinyModel.Create(Path.Combine(_dir, "bad"), 5, hidden: 8, heads: 2, layers: 1, withPooler: true);
        var tensors = SafeTensorsFile.Read(Path.Combine(model.Directory, "model.safetensors"))
            .Tensors.ToDictionary(p => p.Key, p => (p.Value.Shape, p.Value.Data));
        tensors["encoder.layer.0.intermediate.dense.bias"] = ([3], [1f, 2f, 3f]);
        SafeTensorsFile.Write(Path.Combine(model.Directory, "model.safetensors"), tensors);

        var e = Assert.Throws<InvalidDataException>(() => BertEncoder.Load(model.Directory));
        Assert.Contains("encoder.layer.0.intermediate.dense.bias", e.Message);
    }

    [Fact]
    public void Load_MissingDirectoryFiles_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => BertEncoder.Load(_dir));
    }

    private static string RandomText(Random random) =>
        string.Join(' ', Enumerable.Range(0, random.Next(0, 6)).Select(_ => Words[random.Next(Words.Length)]));

    private static void AssertClose(double[] expected, ReadOnlySpan<float> actual, double tolerance = 1e-4)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}] expected {expected[i]}, got {actual[i]}");
        }
    }

    /// <summary>A random BERT checkpoint on disk plus a plain float64 forward pass written straight from the definition.</summary>
    private sealed class TinyModel
    {
        public const int MaxPositions = 16;
        private const double Eps = 1e-12;

        private readonly Dictionary<string, (int[] Shape, float[] Data)> _t;
        private readonly int _h;
        private readonly int _heads;
        private readonly int _layers;

        private TinyModel(string directory, Dictionary<string, (int[] Shape, float[] Data)> tensors, int h, int heads, int layers)
        {
            Directory = directory;
            _t = tensors;
            _h = h;
            _heads = heads;
            _layers = layers;
        }

        public string Directory { get; }

        public static TinyModel Create(string directory, int seed, int hidden, int heads, int layers, bool withPooler, string prefix = "")
        {
            System.IO.Directory.CreateDirectory(directory);
            string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", .. Words];
            File.WriteAllLines(Path.Combine(directory, "vocab.txt"), vocab);
            File.WriteAllText(Path.Combine(directory, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["model_type"] = "bert",
                ["vocab_size"] = vocab.Length,
                ["hidden_size"] = hidden,
                ["num_hidden_layers"] = layers,
                ["num_attention_heads"] = heads,
                ["intermediate_size"] = 2 * hidden,
                ["max_position_embeddings"] = MaxPositions,
                ["type_vocab_size"] = 2,
                ["layer_norm_eps"] = Eps,
                ["hidden_act"] = "gelu",
            }));

            var random = new Random(seed);
            var tensors = new Dictionary<string, (int[] Shape, float[] Data)>();
            void Add(string name, double scale, double offset, params int[] shape)
            {
                var data = new float[shape.Aggregate(1, (a, d) => a * d)];
                for (int i = 0; i < data.Length; i++)
                {
                    data[i] = (float)(offset + (scale * ((random.NextDouble() * 2) - 1)));
                }

                tensors[name] = (shape, data);
            }

            void Dense(string name, int o, int i)
            {
                Add(name + ".weight", 0.6, 0, o, i);
                Add(name + ".bias", 0.2, 0, o);
            }

            void Norm(string name)
            {
                Add(name + ".weight", 0.2, 1, hidden);
                Add(name + ".bias", 0.2, 0, hidden);
            }

            Add("embeddings.word_embeddings.weight", 1, 0, vocab.Length, hidden);
            Add("embeddings.position_embeddings.weight", 1, 0, MaxPositions, hidden);
            Add("embeddings.token_type_embeddings.weight", 1, 0, 2, hidden);
            Norm("embeddings.LayerNorm");
            for (int l = 0; l < layers; l++)
            {
                string p = $"encoder.layer.{l}.";
                Dense(p + "attention.self.query", hidden, hidden);
                Dense(p + "attention.self.key", hidden, hidden);
                Dense(p + "attention.self.value", hidden, hidden);
                Dense(p + "attention.output.dense", hidden, hidden);
                Norm(p + "attention.output.LayerNorm");
                Dense(p + "intermediate.dense", 2 * hidden, hidden);
                Dense(p + "output.dense", hidden, 2 * hidden);
                Norm(p + "output.LayerNorm");
            }

            if (withPooler)
            {
                Dense("pooler.dense", hidden, hidden);
            }

            // A prefixed checkpoint also carries another head's tensors, which the loader must ignore.
            var stored = tensors.ToDictionary(p => prefix + p.Key, p => p.Value);
            if (prefix.Length > 0)
            {
                stored["cls.predictions.bias"] = ([vocab.Length], new float[vocab.Length]);
            }

            SafeTensorsFile.Write(Path.Combine(directory, "model.safetensors"), stored);
            return new TinyModel(directory, tensors, hidden, heads, layers);
        }

        public (double[][] Hidden, double[] Pooler, double[] Sentence) Reference(int[] ids, int[] types, int[] mask)
        {
            int seq = ids.Length;
            var x = new double[seq][];
            for (int t = 0; t < seq; t++)
            {
                x[t] = new double[_h];
                for (int k = 0; k < _h; k++)
                {
                    x[t][k] = W("embeddings.word_embeddings.weight")[(ids[t] * _h) + k]
                              + W("embeddings.position_embeddings.weight")[(t * _h) + k]
                              + W("embeddings.token_type_embeddings.weight")[(types[t] * _h) + k];
                }

                x[t] = LayerNorm(x[t], "embeddings.LayerNorm");
            }

            int d = _h / _heads;
            for (int l = 0; l < _layers; l++)
            {
                string p = $"encoder.layer.{l}.";
                var q = x.Select(v => Linear(v, p + "attention.self.query")).ToArray();
                var k = x.Select(v => Linear(v, p + "attention.self.key")).ToArray();
                var v = x.Select(v => Linear(v, p + "attention.self.value")).ToArray();
                var context = new double[seq][];
                for (int i = 0; i < seq; i++)
                {
                    context[i] = new double[_h];
                    for (int head = 0; head < _heads; head++)
                    {
                        var scores = new double[seq];
                        for (int j = 0; j < seq; j++)
                        {
                            double dot = 0;
                            for (int c = head * d; c < (head + 1) * d; c++)
                            {
                                dot += q[i][c] * k[j][c];
                            }

                            scores[j] = (dot / Math.Sqrt(d)) + (mask[j] == 1 ? 0 : -1e9);
                        }

                        double max = scores.Max();
                        var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
                        double total = weights.Sum();
                        for (int j = 0; j < seq; j++)
                        {
                            for (int c = head * d; c < (head + 1) * d; c++)
                            {
                                context[i][c] += weights[j] / total * v[j][c];
                            }
                        }
                    }
                }

                for (int t = 0; t < seq; t++)
                {
                    var attention = Linear(context[t], p + "attention.output.dense");
                    var a = LayerNorm([.. x[t].Zip(attention, (m, n) => m + n)], p + "attention.output.LayerNorm");
                    var inner = Linear(a, p + "intermediate.dense")
                        .Select(u => 0.5 * u * (1 + SpecialFunctions.ErfSeries(u / Math.Sqrt(2)))).ToArray();
                    var output = Linear(inner, p + "output.dense");
                    x[t] = LayerNorm([.. a.Zip(output, (m, n) => m + n)], p + "output.LayerNorm");
                }
            }

            var pooler = Linear(x[0], "pooler.dense").Select(Math.Tanh).ToArray();
            var mean = new double[_h];
            int count = mask.Sum();
            for (int t = 0; t < seq; t++)
            {
                for (int c = 0; c < _h && mask[t] == 1; c++)
                {
                    mean[c] += x[t][c] / count;
                }
            }

            double norm = Math.Sqrt(mean.Sum(m => m * m));
            return (x, pooler, [.. mean.Select(m => m / norm)]);
        }

        private float[] W(string name) => _t[name].Data;

        // y (out) = W (out, in) · v (in) + b
        private double[] Linear(double[] v, string name)
        {
            var weight = W(name + ".weight");
            var bias = W(name + ".bias");
            var y = new double[bias.Length];
            for (int o = 0; o < y.Length; o++)
            {
                double sum = bias[o];
                for (int i = 0; i < v.Length; i++)
                {
                    sum += weight[(o * v.Length) + i] * v[i];
                }

                y[o] = sum;
            }

            return y;
        }

        private double[] LayerNorm(double[] v, string name)
        {
            double mean = v.Average();
            double variance = v.Sum(u => (u - mean) * (u - mean)) / v.Length;
            var gamma = W(name + ".weight");
            var beta = W(name + ".bias");
            return [.. v.Select((u, i) => ((u - mean) / Math.Sqrt(variance + Eps) * gamma[i]) + beta[i])];
        }
    }
}
