using Persona.Abstractions;
using Persona.Core.Evaluation.NextItem;
using Persona.Core.Models.Sequence;
using static Persona.Core.Tests.Sequence.SequenceTestData;

namespace Persona.Core.Tests.Sequence;

/// <summary>The serving gate, the serving pointer (promote, rollback, folders from before it) and warm starts, on the chain data.</summary>
public sealed class SequenceServingTests(TrainedChainsFixture fixture) : IClassFixture<TrainedChainsFixture>, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "persona-serving-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    /// <summary>One epoch at a learning rate too small to learn anything: a model clearly worse than the fixture's.</summary>
    private SequenceTrainingResult Untrained() =>
        SequenceTrainer.Train(fixture.Data, fixture.Options with { Epochs = 1, Patience = 1, LearningRate = 1e-6f, RefitEpochs = 0, Seed = 11 });

    [Fact]
    public void Gate_WorseModel_RejectedWithBothFiguresAndDoesNotServe()
    {
        var repository = new SequenceModelRepository(_root);
        var good = repository.Save(fixture.Result, fixture.Options);
        var worse = Untrained();

        var gate = SequenceModelGate.Judge(worse, repository.CurrentModel, fixture.Data, force: false);
        var stored = repository.Store(worse, fixture.Options, gate: gate);

        Assert.Equal(SequenceServingDecisions.Rejected, gate.Decision);
        Assert.False(gate.Serves);
        Assert.Equal(good, gate.ServingVersion);
        Assert.True(gate.ServingNdcg10 > gate.CandidateNdcg10 + 0.2, gate.Describe());
        // Stored, with the verdict, but the pointer still names the good one, for this process and a fresh reader alike.
        Assert.Equal(good, repository.ServingVersion());
        var reader = new SequenceModelRepository(_root);
        Assert.True(reader.Refresh());
        Assert.Equal(good, reader.Current!.Version);
        var listed = reader.Describe();
        Assert.Equal(new[] { good, stored }, listed.Select(v => v.Version));
        Assert.Equal(SequenceServingDecisions.Rejected, listed[1].Gate!.Decision);
        Assert.False(listed[1].Serving);
        Assert.True(listed[0].Serving);
    }

    [Fact]
    public void Gate_Forced_ServesTheWorseModelAndKeepsTheFigures()
    {
        var repository = new SequenceModelRepository(_root);
        repository.Save(fixture.Result, fixture.Options);
        var worse = Untrained();

        var gate = SequenceModelGate.Judge(worse, repository.CurrentModel, fixture.Data, force: true);
        var version = repository.Store(worse, fixture.Options, gate: gate);
        repository.Serve(version, gate.Decision, "test");

        Assert.Equal(SequenceServingDecisions.Forced, gate.Decision);
        Assert.NotNull(gate.ServingNdcg10);
        Assert.Equal(version, repository.Current!.Version);
        Assert.Equal(version, new SequenceModelRepository(_root).ServingVersion());
    }

    [Fact]
    public void Gate_FirstModel_ServesWithNothingToCompare()
    {
        var gate = SequenceModelGate.Judge(fixture.Result, serving: null, fixture.Data, force: false);
        Assert.Equal(SequenceServingDecisions.First, gate.Decision);
        Assert.True(gate.Serves);
        Assert.Null(gate.ServingNdcg10);
    }

    [Fact]
    public void Validate_SameVocabulary_EqualsTheModelsOwnScorer()
    {
        var model = fixture.Result.Model;
        var own = NextItemEvaluator.Evaluate(fixture.Data, new SequenceModelScorer(model), NextItemSplit.Validation).Ndcg(10);
        Assert.Equal(own, SequenceModelGate.Validate(model, fixture.Data), 6);
    }

    [Fact]
    public void Validate_OtherVocabulary_MapsItemsByIdAndRanksUnknownItemsLast()
    {
        var model = fixture.Result.Model;
        var (events, items) = Chains();
        // A new item sorts first, so every item index shifts by one; it has no events, and the model does not know it.
        var shifted = SequenceDataset.Build(events, [new Item { Id = "a-new", Brand = "BrandNew" }, .. items]);
        Assert.Equal(1, shifted.Vocabulary.ItemIndex("a-new"));
        Assert.Equal(SequenceModelGate.Validate(model, fixture.Data), SequenceModelGate.Validate(model, shifted), 6);

        // Users whose validation step is an item the model never saw: the model cannot rank it, so it scores nothing.
        var unknownTargets = new List<StoredEvent>();
        for (var u = 0; u < 20; u++)
        {
            unknownTargets.Add(Event($"n{u}", "b0-1", 1, sequence: 1));
            unknownTargets.Add(Event($"n{u}", "b0-2", 2, sequence: 2));
            unknownTargets.Add(Event($"n{u}", "z-unseen", 3, sequence: 3));
            unknownTargets.Add(Event($"n{u}", "b0-4", 4, sequence: 4));
        }
        var foreign = SequenceDataset.Build(unknownTargets, items);
        Assert.Equal(0, SequenceModelGate.Validate(model, foreign));
    }

    [Fact]
    public void Rollback_ReturnsToThePreviousVersion_ThenHasNothingLeft()
    {
        var repository = new SequenceModelRepository(_root);
        var first = repository.Save(fixture.Result, fixture.Options);
        var second = repository.Store(fixture.Result, fixture.Options);
        Assert.Equal(first, repository.ServingVersion());
        repository.Serve(second, SequenceServingDecisions.Promoted, "test");
        Assert.Equal(second, repository.Current!.Version);

        var pointer = repository.Rollback();

        Assert.Equal(first, pointer.Version);
        Assert.Equal(first, repository.Current!.Version);
        Assert.Equal(first, new SequenceModelRepository(_root).ServingVersion());
        var nothing = Assert.Throws<InvalidOperationException>(repository.Rollback);
        Assert.Contains(first, nothing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_UnknownVersion_ThrowsNamingItAndTheStoredOnes()
    {
        var repository = new SequenceModelRepository(_root);
        var first = repository.Save(fixture.Result, fixture.Options);
        var ex = Assert.Throws<UnknownModelVersionException>(() => repository.Serve("seq-nope", SequenceServingDecisions.Promoted, "test"));
        Assert.Equal("seq-nope", ex.Version);
        Assert.Contains("'seq-nope'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(first, ex.Message, StringComparison.Ordinal);
        Assert.Throws<UnknownModelVersionException>(() => repository.Serve("../outside", SequenceServingDecisions.Promoted, "test"));
        Assert.Equal(first, repository.ServingVersion());
    }

    [Fact]
    public void FolderWithoutPointer_ServesNewest_AndARejectedVersionDoesNotTakeOver()
    {
        var repository = new SequenceModelRepository(_root);
        repository.Store(fixture.Result, fixture.Options);
        var newest = repository.Store(fixture.Result, fixture.Options);
        // A folder written before the pointer existed: only versions.
        File.Delete(repository.PointerPath);
        var server = new SequenceModelRepository(_root);
        Assert.True(server.Refresh());
        Assert.Equal(newest, server.Current!.Version);

        var rejected = repository.Store(Untrained(), fixture.Options,
            gate: new SequenceGateOutcome(SequenceServingDecisions.Rejected, 0.1, newest, 0.5));

        Assert.False(server.Refresh());
        Assert.Equal(newest, server.Current!.Version);
        var pointer = repository.ReadPointer()!;
        Assert.Equal(newest, pointer.Version);
        Assert.Equal(SequenceServingDecisions.Adopted, pointer.History[^1].Decision);
        Assert.NotEqual(rejected, server.ServingVersion());
    }

    [Fact]
    public void WarmStart_CopiesMatchingTensorsAndSharedRowsById()
    {
        var source = fixture.Result.Model;
        var (events, items) = Chains();
        // Brand 3 leaves the catalog and its events; a new brand's items arrive (with events, so they are in the vocabulary).
        var kept = events.Where(e => !e.ItemId!.StartsWith("b3-", StringComparison.Ordinal)).ToList();
        var newItems = Enumerable.Range(0, 5).Select(k => new Item { Id = $"c9-{k}", Brand = "Brand9", CategoryPath = ["Cat9"] }).ToList();
        kept.AddRange(newItems.Select((item, k) => Event("u0000", item.Id, 400 + k, sequence: 100_000 + k)));
        var data = SequenceDataset.Build(kept, [.. items.Where(i => i.Brand != "Brand3"), .. newItems]);
        var config = source.Network.Config with { ItemCount = data.ItemCount, AttributeCount = data.Vocabulary.AttributeCount };
        var network = new SequenceNetwork(config, new Neural.Rng(99));

        var summary = SequenceWarmStart.Apply(network, data.Vocabulary, source);

        Assert.Equal(30, summary.SharedItems);
        Assert.Equal(0, summary.Skipped);
        var d = config.Dimension;
        var oldItems = source.Network.Items.Weight.Data;
        var newTable = network.Items.Weight.Data;
        Assert.Equal(oldItems.Slice(source.Vocabulary.ItemIndex("b1-4") * d, d).ToArray(), newTable.Slice(data.Vocabulary.ItemIndex("b1-4") * d, d).ToArray());
        Assert.NotEqual(oldItems.Slice(source.Vocabulary.ItemIndex("b1-4") * d, d).ToArray(), newTable.Slice(data.Vocabulary.ItemIndex("c9-0") * d, d).ToArray());
        var oldAttributes = source.Network.Attributes.Weight.Data;
        var brand1Old = source.Vocabulary.AttributeTokens.ToList().IndexOf("b:brand1") + 1;
        var brand1New = data.Vocabulary.AttributeTokens.ToList().IndexOf("b:brand1") + 1;
        Assert.Equal(oldAttributes.Slice(brand1Old * d, d).ToArray(), network.Attributes.Weight.Data.Slice(brand1New * d, d).ToArray());
        var before = source.Network.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.ToArray());
        foreach (var (name, p) in network.NamedParameters().Where(p => p.Name is not ("item.weight" or "attribute.weight")))
            Assert.Equal(before[name], p.ToArray());
    }

    [Fact]
    public void WarmStart_OneEpoch_KeepsWhatTheServingModelLearned()
    {
        var oneEpoch = fixture.Options with { Epochs = 1, Patience = 1, Seed = 21 };
        var cold = SequenceTrainer.Train(fixture.Data, oneEpoch);
        var warm = SequenceTrainer.Train(fixture.Data, oneEpoch, warmStart: fixture.Result.Model);
        // Measured: cold ≈ 0.2 after one epoch; warm starts where 15 epochs ended (≈ 0.6).
        Assert.True(warm.BestValidationNdcg10 > cold.BestValidationNdcg10 + 0.1, $"warm {warm.BestValidationNdcg10:0.000}, cold {cold.BestValidationNdcg10:0.000}");
        Assert.True(warm.BestValidationNdcg10 > 0.5, $"warm {warm.BestValidationNdcg10:0.000}");
    }
}
