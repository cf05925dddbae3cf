using Persona.Abstractions;
using Persona.Core.Search;

namespace Persona.Core.Tests.Search;

public sealed class SemanticAndRerankerTests
{
    [Fact]
    public void Encoder_TrainedOnTitleCategoryPairs_PutsQueryNearItsCategory()
    {
        var items = new List<Item>();
        string[] nails = ["lacquer", "gel coat", "top coat", "shimmer lacquer", "crackle polish", "base coat"];
        string[] hair = ["argan oil", "curl cream", "volume mousse", "shine spray", "repair mask", "leave in"];
        for (var i = 0; i < 60; i++)
        {
            items.Add(new Item { Id = $"n{i}", Title = $"{nails[i % nails.Length]} {i}", CategoryPath = ["Makeup", "Nails", "Nail Polish"] });
            items.Add(new Item { Id = $"h{i}", Title = $"{hair[i % hair.Length]} {i}", CategoryPath = ["Hair Care", "Styling Products"] });
        }
        var encoder = SemanticEncoder.Train(SemanticPairs.Build(items), new SemanticEncoderOptions { Buckets = 1 << 12, Dimension = 16, Epochs = 30, BatchSize = 32 });

        var query = encoder.Encode("nail polish");
        var nail = encoder.Encode("crackle lacquer");
        var hairItem = encoder.Encode("curl cream");

        Assert.True(Dot(query, nail) > Dot(query, hairItem) + 0.1, $"nail {Dot(query, nail):0.00} vs hair {Dot(query, hairItem):0.00}");
        Assert.Equal(1f, Dot(nail, nail), 3);
    }

    private static float Dot(float[] a, float[] b) => a.Zip(b).Sum(p => p.First * p.Second);

    [Fact]
    public void Train_PairsFavouringBrand_LearnsPositiveBrandWeight()
    {
        var random = new Random(3);
        var pairs = new List<(double[], double[])>();
        for (var i = 0; i < 2000; i++)
        {
            // Clicked items score a little higher and share the user's brand far more often than skipped ones.
            var clicked = new double[] { 0.3 + 0.7 * random.NextDouble(), random.NextDouble() * 0.2, random.NextDouble() < 0.7 ? 1 : 0, 0, 0, 0, 0 };
            var skipped = new double[] { random.NextDouble(), random.NextDouble() * 0.2, random.NextDouble() < 0.1 ? 1 : 0, 0, 0, 0, 0 };
            pairs.Add((clicked, skipped));
        }

        var weights = PersonalReranker.Train(pairs);

        Assert.Equal("learned", weights.Source);
        Assert.Equal(1, weights.Weights[0]);
        Assert.True(weights.Weights[2] > 0.5, $"brand weight {weights.Weights[2]}");
    }

    [Fact]
    public void Train_TooFewPairs_KeepsDefaults() =>
        Assert.Same(RerankerWeights.Default, PersonalReranker.Train([]));
}
