using Persona.Abstractions;
using Persona.Core.Evaluation.NextItem;
using Persona.Core.Models.Sequence;
using Persona.Hosting.Recommendations;

namespace Persona.Server.Tests;

public sealed class ServedNextItemEvaluationTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Users walk a ring of 30 items (k → k + 1) from different starts; the next step is always the successor.</summary>
    private static (List<StoredEvent> Events, List<Item> Items) Ring(int users = 120)
    {
        var items = Enumerable.Range(0, 30).Select(k => new Item { Id = $"i{k}", Title = $"item {k}", CategoryPath = ["Ring"] }).ToList();
        var events = new List<StoredEvent>();
        for (var u = 0; u < users; u++)
        {
            var length = 4 + (u % 5);
            for (var t = 0; t < length; t++)
                events.Add(new StoredEvent
                {
                    Sequence = events.Count + 1,
                    Id = $"e{u}-{t}",
                    UserId = $"u{u:D3}",
                    Type = EventType.Purchase,
                    ItemId = $"i{(u + t) % 30}",
                    Timestamp = Start.AddDays(t).AddMinutes(u),
                });
        }
        return (events, items);
    }

    [Fact]
    public void HistoryEvents_Test_EndsBeforeEachUsersLastStep()
    {
        var (events, items) = Ring(users: 10);
        var data = SequenceDataset.Build(events, items);
        var history = ServedNextItemEvaluation.HistoryEvents(events, data, mergesRepeats: true, NextItemSplit.Test, out var targets);
        Assert.Equal(events.Count - 10, history.Count);
        Assert.Equal(10, targets.Count);
        foreach (var (u, target) in targets)
        {
            var user = data.Users[u];
            Assert.Equal(user.Items[^1], target);
            Assert.DoesNotContain(history, e => e.UserId == user.UserId && e.Timestamp >= Start.AddDays(user.Length - 1));
        }
        var validation = ServedNextItemEvaluation.HistoryEvents(events, data, mergesRepeats: true, NextItemSplit.Validation, out var validationTargets);
        Assert.Equal(events.Count - 20, validation.Count);
        Assert.All(validationTargets, p => Assert.Equal(data.Users[p.Key].Items[^2], p.Value));
    }

    [Fact]
    public async Task EvaluateAsync_RingWithoutModel_ItemPairsFindTheSuccessor()
    {
        var (events, items) = Ring();
        var data = SequenceDataset.Build(events, items);
        var metrics = await ServedNextItemEvaluation.EvaluateAsync(events, items, data, mergesRepeats: true, model: null, NextItemSplit.Test, cancellationToken: CancellationToken.None);
        Assert.Equal(120, metrics.Users);
        // The successor of the newest item always followed it in other users' histories, so item pairs put it first.
        Assert.True(metrics.HitRate(1) > 0.9, $"HR@1 {metrics.HitRate(1):0.000}");
    }
}
