using System.Numerics.Tensors;
using Persona.Core.Models.Sequence;
using static Persona.Core.Tests.Sequence.SequenceTestData;

namespace Persona.Core.Tests.Sequence;

public sealed class SequenceTextInitTests
{
    /// <summary>Brand b's items share a text direction, plus a little of their own; items of brand 3 have no text.</summary>
    private static float[]? TextOf(string itemId)
    {
        var brand = itemId[1] - '0';
        if (brand == 3) return null;
        var k = itemId[^1] - '0';
        var v = new float[16];
        v[brand] = 1f;
        v[4 + k] = 0.2f;
        v[15] = 3f; // shared by every text: centring removes it
        return v;
    }

    private static (SequenceNetwork Network, SequenceDataset Data) Fresh()
    {
        var (events, items) = Chains(users: 40);
        var data = SequenceDataset.Build(events, items);
        var network = SequenceTrainer.CreateNetwork(data, new SequenceTrainingOptions { Dimension = 32 }, new Neural.Rng(5));
        return (network, data);
    }

    private static float[] Row(SequenceNetwork network, SequenceDataset data, string id)
    {
        var d = network.Config.Dimension;
        return network.Items.Weight.Data.Slice(data.Vocabulary.ItemIndex(id) * d, d).ToArray();
    }

    [Fact]
    public void Apply_ItemsDescribedAlike_StartNearEachOther_AtTheRandomRowsNorm()
    {
        var (network, data) = Fresh();
        var untouched = Row(network, data, "b3-0");
        var randomNorm = TensorPrimitives.Norm(Row(network, data, "b0-0"));

        var set = SequenceTextInit.Apply(network, data.Vocabulary, TextOf, seed: 3);

        Assert.Equal(30, set);
        Assert.Equal(untouched, Row(network, data, "b3-0"));
        var sameBrand = TensorPrimitives.CosineSimilarity(Row(network, data, "b0-1"), Row(network, data, "b0-2"));
        var otherBrand = TensorPrimitives.CosineSimilarity(Row(network, data, "b0-1"), Row(network, data, "b1-2"));
        Assert.True(sameBrand > 0.6, $"same brand {sameBrand:0.00}");
        Assert.True(otherBrand < 0.3, $"other brand {otherBrand:0.00}");
        Assert.InRange(TensorPrimitives.Norm(Row(network, data, "b2-4")), randomNorm * 0.5f, randomNorm * 2f);
    }

    [Fact]
    public void Apply_VectorsOfTwoLengths_IsRefused()
    {
        var (network, data) = Fresh();
        var error = Assert.Throws<ArgumentException>(() => SequenceTextInit.Apply(network, data.Vocabulary, id => new float[id.EndsWith('0') ? 8 : 16], seed: 3));
        Assert.Contains("one encoder", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_WithItemText_CountsTheRowsItSet()
    {
        var (events, items) = Chains(users: 40);
        var data = SequenceDataset.Build(events, items);
        var options = new SequenceTrainingOptions { Dimension = 16, Epochs = 1, RefitEpochs = 0, ItemText = TextOf };

        var result = SequenceTrainer.Train(data, options);

        Assert.Equal(30, result.TextInitialisedItems);
        Assert.Equal(30, SequenceModelManifest.For(result, options, "v", DateTimeOffset.UtcNow).Metrics["text_initialised_items"]);
    }
}
