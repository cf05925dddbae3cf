using Persona.Abstractions;
using Persona.Core.Models.Sequence;
using static Persona.Core.Tests.Sequence.SequenceTestData;

namespace Persona.Core.Tests.Sequence;

public sealed class SequenceDatasetTests
{
    [Fact]
    public void Build_MixedEvents_TimeOrderedCollapsedAndFiltered()
    {
        var events = new List<StoredEvent>
        {
            Event("u1", "B", 2, sequence: 3),
            Event("u1", "A", 0, EventType.View, sequence: 1),
            Event("u1", "A", 1, EventType.AddToCart, sequence: 2), // repeats A: collapses, keeps the later type
            Event("u1", "C", 3, EventType.Impression, sequence: 4), // impressions are not steps
            Event("u1", "D", 4, sequence: 5) with { ExcludedReason = "burst" },
            Event("u1", "E", 9, sequence: 6),
        };
        var catalog = new List<Item> { new() { Id = "A", Brand = "Acme", CategoryPath = ["Makeup", "Nails"] }, new() { Id = "Z" } };
        var data = SequenceDataset.Build(events, catalog);
        var user = Assert.Single(data.Users);
        Assert.Equal(new[] { "A", "B", "E" }, user.Items.Select(data.Vocabulary.ItemId));
        Assert.Equal(new byte[] { (int)EventType.AddToCart + 1, (int)EventType.Purchase + 1, (int)EventType.Purchase + 1 }, user.Types);
        Assert.Equal(new[] { (byte)0, SequenceDataset.GapBucket(TimeSpan.FromDays(2)), SequenceDataset.GapBucket(TimeSpan.FromDays(7)) }, user.Gaps);
        // Vocabulary: catalog items and the items of steps, ordinal; attributes of catalog items only.
        Assert.Equal(new[] { "A", "B", "E", "Z" }, data.Vocabulary.ItemIds); // C and D occur only in events that are not steps
        Assert.Equal(new[] { "b:acme", "c1:makeup", "c2:makeup > nails" }, data.Vocabulary.AttributeTokens);
        Assert.Equal(3, data.ItemAttributes[data.Vocabulary.ItemIndex("A")].Length);
        Assert.Empty(data.ItemAttributes[data.Vocabulary.ItemIndex("B")]);
        Assert.Equal(1, SequenceDataset.HistoryLength(user, NextItemSplit.Validation));
        Assert.Equal(2, SequenceDataset.HistoryLength(user, NextItemSplit.Test));
    }

    [Fact]
    public void Build_MergeRepeatsOff_KeepsBackToBackRepeats()
    {
        var events = new List<StoredEvent> { Event("u1", "A", 0, sequence: 1), Event("u1", "B", 1, sequence: 2), Event("u1", "B", 2, sequence: 3) };

        var merged = SequenceDataset.Build(events, []);
        var asGiven = SequenceDataset.Build(events, [], new SequenceDataOptions { MergeRepeats = false });

        Assert.Equal(new[] { "A", "B" }, merged.Users[0].Items.Select(merged.Vocabulary.ItemId));
        Assert.Equal(new[] { "A", "B", "B" }, asGiven.Users[0].Items.Select(asGiven.Vocabulary.ItemId));
        Assert.Equal(SequenceDataset.GapBucket(TimeSpan.FromDays(1)), asGiven.Users[0].Gaps[2]);
    }

    [Fact]
    public void GapBucket_Monotone_AndCapped()
    {
        Assert.Equal(1, SequenceDataset.GapBucket(TimeSpan.Zero));
        Assert.Equal(2, SequenceDataset.GapBucket(TimeSpan.FromMinutes(1)));
        Assert.True(SequenceDataset.GapBucket(TimeSpan.FromDays(1)) < SequenceDataset.GapBucket(TimeSpan.FromDays(30)));
        Assert.Equal(SequenceDataset.GapBuckets - 1, SequenceDataset.GapBucket(TimeSpan.FromDays(1e7)));
    }

    [Fact]
    public void Tokens_AttributeList_AnonymousIdsBecomeTokens()
    {
        var item = new Item { Id = "1", Attributes = new Dictionary<string, string> { [SequenceVocabulary.AttributeListKey] = "12, 40" } };
        Assert.Equal(new[] { "a:12", "a:40" }, SequenceVocabulary.Tokens(item));
    }
}
