using Persona.Neural.Bert.Lora;

namespace Persona.Neural.Tests.Bert;

public sealed class DistinctBatchesTests
{
    [Fact]
    public void DistinctBatches_SharedCategoryTexts_NeverMeetInOneBatch()
    {
        // 60 items in 4 categories: (title, category) pairs share their positive within a category.
        var pairs = Enumerable.Range(0, 60).Select(i => new TextPair($"title {i}", $"category {i % 4}")).ToList();
        var order = Enumerable.Range(0, pairs.Count).Reverse().ToArray();

        var batches = ContrastiveTuner.DistinctBatches(pairs, order, batchSize: 8);

        Assert.All(batches, batch =>
        {
            Assert.InRange(batch.Length, 2, 8);
            var texts = batch.SelectMany(p => new[] { p.Anchor, p.Positive }).ToList();
            Assert.Equal(texts.Count, texts.Distinct(StringComparer.Ordinal).Count());
        });
        var used = batches.SelectMany(b => b).ToList();
        Assert.Equal(used.Count, used.Distinct().Count());
        // Four categories allow four pairs per batch: every pair is used but for the last lone ones.
        Assert.True(used.Count >= pairs.Count - 4, $"{used.Count} of {pairs.Count} pairs used");
    }

    [Fact]
    public void DistinctBatches_AllTextsDistinct_KeepsTheOrder()
    {
        var pairs = Enumerable.Range(0, 10).Select(i => new TextPair($"a{i}", $"p{i}")).ToList();
        var order = new[] { 3, 1, 4, 0, 5, 9, 2, 6, 8, 7 };

        var batches = ContrastiveTuner.DistinctBatches(pairs, order, batchSize: 4);

        Assert.Equal(order.Select(i => pairs[i]), batches.SelectMany(b => b));
        Assert.Equal([4, 4, 2], batches.Select(b => b.Length));
    }
}
