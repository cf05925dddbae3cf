using Persona.Abstractions;
using Persona.Core.Evaluation.NextItem;
using Persona.Core.Models.Sequence;
using static Persona.Core.Tests.Sequence.SequenceTestData;

namespace Persona.Core.Tests.Sequence;

/// <summary>Trains once on the chain data set; the tests share the model.</summary>
public sealed class TrainedChainsFixture
{
    public TrainedChainsFixture()
    {
        var (events, items) = Chains();
        Items = items;
        Data = SequenceDataset.Build(events, items);
        Options = SmallOptions();
        Result = SequenceTrainer.Train(Data, Options);
    }

    public List<Item> Items { get; }

    public SequenceDataset Data { get; }

    public SequenceTrainingOptions Options { get; }

    public SequenceTrainingResult Result { get; }
}

public sealed class SequenceModelTests(TrainedChainsFixture fixture) : IClassFixture<TrainedChainsFixture>
{
    private static List<SequenceStep> Steps(IEnumerable<Item> items, EventType type = EventType.Purchase) =>
        items.Select((item, t) => new SequenceStep(item, type, Start.AddHours(5 * t))).ToList(); // the chain data's own gaps

    [Fact]
    public void Train_ChainData_TestNdcgPinnedAndAboveCooccurrence()
    {
        var model = NextItemEvaluator.Evaluate(fixture.Data, new SequenceModelScorer(fixture.Result.Model), NextItemSplit.Test);
        var cooccurrence = NextItemEvaluator.Evaluate(fixture.Data, new CooccurrenceScorer(fixture.Data), NextItemSplit.Test);
        // Measured 0.573 (co-occurrence 0.540) with these settings; detours (1 step in 6, uniform over the catalog) cap it.
        Assert.True(model.Ndcg(10) is > 0.53 and < 0.62, $"model {model.Ndcg(10):0.000}, co-occurrence {cooccurrence.Ndcg(10):0.000}, validation {fixture.Result.BestValidationNdcg10:0.000} at epoch {fixture.Result.BestEpoch}: {string.Join(' ', fixture.Result.ValidationByEpoch.Select(v => v.ToString("0.00")))}");
        Assert.True(model.Ndcg(10) >= cooccurrence.Ndcg(10) - 0.02, $"model {model.Ndcg(10):0.000} vs co-occurrence {cooccurrence.Ndcg(10):0.000}");
        Assert.True(fixture.Result.BestValidationNdcg10 > 0.55);
    }

    [Fact]
    public void Train_SameSeed_SameScores()
    {
        var again = SequenceTrainer.Train(fixture.Data, fixture.Options with { Epochs = 2, Patience = 2 });
        var twice = SequenceTrainer.Train(fixture.Data, fixture.Options with { Epochs = 2, Patience = 2 });
        Assert.Equal(again.Model.ItemTable.ToArray(), twice.Model.ItemTable.ToArray());
    }

    [Fact]
    public void EncodeUser_ChainHistory_SuccessorScoresHighest()
    {
        var model = fixture.Result.Model;
        var byId = fixture.Items.ToDictionary(i => i.Id);
        var history = Steps(new[] { "b2-3", "b2-4", "b2-5", "b2-6" }.Select(id => byId[id]));
        var user = model.EncodeUser(history)!;
        var best = fixture.Items.Where(i => !history.Any(s => s.Item.Id == i.Id))
            .MaxBy(i => System.Numerics.Tensors.TensorPrimitives.Dot(user, model.ItemVector(i)!))!;
        Assert.Equal("b2-7", best.Id);
    }

    [Fact]
    public void SaveLoad_RoundTrip_IdenticalScores()
    {
        var root = Path.Combine(Path.GetTempPath(), "persona-seq-" + Guid.NewGuid().ToString("N"));
        try
        {
            var repository = new SequenceModelRepository(root);
            var version = repository.Save(fixture.Result, fixture.Options);
            var reader = new SequenceModelRepository(root);
            Assert.True(reader.Refresh());
            Assert.False(reader.Refresh());
            var loaded = reader.CurrentModel!;
            Assert.Equal(version, loaded.Version);
            var history = Steps(fixture.Items.Take(5));
            Assert.Equal(fixture.Result.Model.EncodeUser(history), loaded.EncodeUser(history));
            Assert.Equal(fixture.Result.Model.ItemTable.ToArray(), loaded.ItemTable.ToArray());
            var fresh = new Item { Id = "new", Brand = "Brand1", CategoryPath = ["Cat1", "Sub1"] };
            Assert.Equal(fixture.Result.Model.ItemVector(fresh), loaded.ItemVector(fresh));
            Assert.Equal(fixture.Options.Dimension, loaded.Manifest!.Network.Dimension);
            Assert.Equal(fixture.Data.ItemCount, loaded.Manifest.Items.Count);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Refresh_NewerVersionAppears_ServesIt()
    {
        var root = Path.Combine(Path.GetTempPath(), "persona-seq-" + Guid.NewGuid().ToString("N"));
        try
        {
            var server = new SequenceModelRepository(root);
            Assert.False(server.Refresh());
            Assert.Null(server.Current);
            var trainer = new SequenceModelRepository(root);
            var first = trainer.Save(fixture.Result, fixture.Options);
            Assert.True(server.Refresh());
            Assert.Equal(first, server.Current!.Version);
            var second = trainer.Save(fixture.Result, fixture.Options);
            Assert.True(server.Refresh());
            Assert.Equal(second, server.Current!.Version);
            Assert.Equal(new[] { first, second }, server.ListVersions());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void ItemVector_NewItemWithKnownAttributes_CloseToItsBrandAndRanksInTopN()
    {
        var model = fixture.Result.Model;
        var fresh = new Item { Id = "b1-new", Brand = "Brand1", CategoryPath = ["Cat1", "Sub1"] };
        var v = model.ItemVector(fresh)!;
        double Cos(float[] a, float[] b) => System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a, b);
        var same = fixture.Items.Where(i => i.Brand == "Brand1").Average(i => Cos(v, model.ItemVector(i)!));
        var other = fixture.Items.Where(i => i.Brand != "Brand1").Average(i => Cos(v, model.ItemVector(i)!));
        Assert.True(same > other + 0.1, $"same brand {same:0.000}, other brands {other:0.000}");

        // A Brand1 user: the new item outranks every item of the other brands.
        var byId = fixture.Items.ToDictionary(i => i.Id);
        var user = model.EncodeUser(Steps(new[] { "b1-0", "b1-1", "b1-2" }.Select(id => byId[id])))!;
        var candidates = fixture.Items.Append(fresh).Where(i => i.Id is not ("b1-0" or "b1-1" or "b1-2")).ToList();
        var ranked = candidates.OrderByDescending(i => System.Numerics.Tensors.TensorPrimitives.Dot(user, model.ItemVector(i)!)).Select(i => i.Id).ToList();
        Assert.InRange(ranked.IndexOf("b1-new"), 0, 9);
        Assert.Null(model.ItemVector(new Item { Id = "nothing-known" }));
    }

    [Fact]
    public void EncodeUser_UnknownSteps_NullWhenNothingKnownAndNewestWindowUsed()
    {
        var model = fixture.Result.Model;
        Assert.Null(model.EncodeUser(Steps([new Item { Id = "x" }, new Item { Id = "y" }])));
        var byId = fixture.Items.ToDictionary(i => i.Id);
        var recent = new[] { "b3-0", "b3-1", "b3-2" }.Select(id => byId[id]).ToList();
        var longHistory = Steps(Enumerable.Repeat(fixture.Items[0], 1).Concat(Enumerable.Range(0, 20).Select(k => byId[$"b0-{k % 10}"])).Concat(recent));
        var encoded = model.EncodeUser(longHistory);
        Assert.NotNull(encoded);
        Assert.Equal(model.Dimension, encoded!.Length);
    }
}
