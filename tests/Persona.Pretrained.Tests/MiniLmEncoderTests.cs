using System.Numerics.Tensors;

namespace Persona.Pretrained.Tests;

public sealed class MiniLmEncoderTests(MiniLmFixture miniLm) : IClassFixture<MiniLmFixture>
{
    private static readonly string[] Titles =
    [
        "Neutrogena Hydro Boost Water Gel, Hyaluronic Acid Face Moisturizer",
        "L'Oreal Paris Voluminous Original Mascara, Blackest Black",
        "OPI Nail Lacquer, Big Apple Red",
        "Maybelline New York Fit Me Matte + Poreless Liquid Foundation",
        "Olaplex No.3 Hair Perfector repairing treatment, 3.3 oz",
        "CeraVe Foaming Facial Cleanser for normal to oily skin",
    ];

    [Fact]
    public void OnnxRuntime_ExampleSentence_MatchesSentenceTransformersOutput()
    {
        // The first components of all-MiniLM-L6-v2's embedding of this sentence as sentence-transformers prints them
        // (model.encode with its default mean pooling and normalisation).
        float[] expected = [0.0676569f, 0.0634959f, 0.0487131f, 0.0793050f, 0.0374480f, 0.0026528f, 0.0393749f, -0.0070984f];
        var vector = miniLm.OnnxRuntime.Encode("This is an example sentence");
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], vector[i], 1e-5f);
        }
    }

    [Fact]
    public void OwnEngine_ProductTitles_GiveTheOnnxRuntimeVectors()
    {
        var expected = new float[Titles.Length * 384];
        var actual = new float[Titles.Length * 384];
        miniLm.OnnxRuntime.EncodeBatch(Titles, expected);
        miniLm.Own.EncodeBatch(Titles, actual);
        for (int i = 0; i < Titles.Length; i++)
        {
            float cosine = TensorPrimitives.CosineSimilarity(expected.AsSpan(i * 384, 384), actual.AsSpan(i * 384, 384));
            Assert.True(cosine > 0.999f, $"'{Titles[i]}': cosine {cosine}");
            Assert.True(TensorPrimitives.MaxMagnitude(Difference(expected.AsSpan(i * 384, 384), actual.AsSpan(i * 384, 384))) < 1e-4f);
        }
    }

    [Fact]
    public void Encoders_DescribeTheModel()
    {
        Assert.Equal(384, miniLm.OnnxRuntime.Dimension);
        Assert.Equal(384, miniLm.Own.Dimension);
        Assert.Equal("minilm", miniLm.OnnxRuntime.Kind);
        Assert.Equal("minilm", miniLm.Own.Kind);
        Assert.Equal("minilm-L6-v2/mean/256", miniLm.OnnxRuntime.Version);
        // Same weights and the same arithmetic up to float rounding: vectors of either engine may be stored together.
        Assert.Equal(miniLm.OnnxRuntime.Version, miniLm.Own.Version);
    }

    [Fact]
    public void EncodeBatch_MixedLengthsAndBlanks_EqualsOneByOneInCallerOrder()
    {
        string?[] texts = [Titles[4], null, Titles[2], "   ", Titles[0], Titles[2]];
        var batch = new float[texts.Length * 384];
        miniLm.OnnxRuntime.EncodeBatch(texts, batch);
        for (int i = 0; i < texts.Length; i++)
        {
            var single = miniLm.OnnxRuntime.Encode(texts[i]);
            var row = batch.AsSpan(i * 384, 384);
            if (string.IsNullOrWhiteSpace(texts[i]))
            {
                Assert.All(row.ToArray(), v => Assert.Equal(0f, v));
                Assert.All(single, v => Assert.Equal(0f, v));
            }
            else
            {
                // Padding changes nothing but float rounding: masked keys get exactly zero attention.
                Assert.True(TensorPrimitives.CosineSimilarity(row, single) > 0.99999f, $"row {i}");
                Assert.Equal(1f, TensorPrimitives.Norm(row), 1e-4f);
            }
        }
    }

    [Fact]
    public void Encode_RelatedTitles_AreCloserThanUnrelatedOnes()
    {
        var foundation = miniLm.Own.Encode("liquid foundation makeup for oily skin");
        var related = miniLm.Own.Encode(Titles[3]);
        var unrelated = miniLm.Own.Encode(Titles[4]);
        Assert.True(TensorPrimitives.Dot(foundation, related) > TensorPrimitives.Dot(foundation, unrelated) + 0.1f);
    }

    [Fact]
    public void Encode_LongText_IsCutAtMaxTokens()
    {
        // 300 words → far past 256 word pieces; the vector equals the one of the text cut to its first 254 pieces.
        string longText = string.Join(' ', Enumerable.Range(0, 300).Select(i => $"word{i % 7}"));
        var encoder = (BatchingTextEncoder)miniLm.OnnxRuntime;
        var pieces = encoder.Tokenizer.Tokenize(longText);
        Assert.True(pieces.Count > 256);
        string cut = string.Join(' ', pieces.Take(254)).Replace(" ##", "", StringComparison.Ordinal);
        Assert.True(TensorPrimitives.CosineSimilarity(encoder.Encode(longText), encoder.Encode(cut)) > 0.9999f);
    }

    private static float[] Difference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var result = new float[a.Length];
        TensorPrimitives.Subtract(a, b, result);
        return result;
    }
}
