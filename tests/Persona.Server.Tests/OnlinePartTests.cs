using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Online;
using Persona.Hosting;
using Persona.Hosting.Online;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary>
/// The online loop's state part (docs/online-loop.md): the counters and the answers in the window are restored with the
/// log sequence they cover, and the events after it attribute against the restored answers as they did before.
/// </summary>
public sealed class OnlinePartTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly DataFolder _folder = new("persona-online");

    private async Task<(PersonaEngine Engine, OnlineLoop Online)> OpenAsync(bool late = false)
    {
        var engine = new PersonaEngine(new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _folder.Path }),
            Options.Create(new PersonaOptions { DataDirectory = _folder.Path }), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        OnlineLoop? online = late ? null : new OnlineLoop(engine, Options.Create(new OnlineOptions()), TimeProvider.System);
        await engine.StartAsync(null, CancellationToken.None);
        if (online is null)
        {
            online = new OnlineLoop(engine, Options.Create(new OnlineOptions()), TimeProvider.System);
            engine.AdoptLatePart(online, await online.LoadAsync(CancellationToken.None) ?? 0);
        }
        else Assert.Null(await online.LoadAsync(CancellationToken.None));
        return (engine, online);
    }

    private static async Task IngestAsync(PersonaEngine engine, params Event[] events)
    {
        var outcome = await engine.IngestEventsAsync(events, CancellationToken.None);
        Assert.True(outcome.Errors.Count == 0, string.Join("; ", outcome.Errors.Take(3)));
    }

    private static Event Event(string user, EventType type, string item, int minute, string? request = null, int? position = null) => new()
    {
        UserId = user, Type = type, ItemId = item, RequestId = request, Position = position, Timestamp = Now.AddMinutes(minute),
    };

    private static string Counts(OnlineLoop online) => string.Join("\n", online.Ledger
        .Query(Now.AddDays(-1), Now.AddDays(1), OnlineDimensions.Surface | OnlineDimensions.Source | OnlineDimensions.Position | OnlineDimensions.Variant)
        .Select(r => $"{r.Surface} {r.Source} {r.Position} {r.Variant}: {r.Counts.Served} {r.Counts.Impressions} {r.Counts.Clicks} {r.Counts.Carts} {r.Counts.Purchases} {r.Counts.Revenue}"));

    [Fact]
    public async Task Restart_TheCheckpointedLedgerPlusTheTail_CountsAsBefore()
    {
        StatePart part;
        string before;
        var (engine, online) = await OpenAsync();
        await using (engine)
        {
            Assert.Empty(await engine.UpsertItemsAsync([new Item { Id = "a", Title = "A", Price = 12 }, new Item { Id = "b", Title = "B", Price = 30 }], CancellationToken.None));
            var first = online.Serve(OnlineSurface.Recommendations, "alice", "exp/x", [new ShownItem("a", "model"), new ShownItem("b", "popularity")]);
            var second = online.Serve(OnlineSurface.Search, "bob", null, [new ShownItem("b", "lexical")]);
            await IngestAsync(engine, Event("alice", EventType.Impression, "a", 1, first, 1), Event("alice", EventType.Impression, "b", 1, first, 2),
                Event("alice", EventType.Click, "b", 2, first, 2));
            await engine.CheckpointStateAsync(CancellationToken.None);
            part = (await engine.Store.ReadStatePartAsync("online"))!;
            // The tail: after the checkpoint, one event pointing back, one attributed by last touch.
            await IngestAsync(engine, Event("bob", EventType.Click, "b", 3, second, 1), Event("alice", EventType.Purchase, "b", 4));
            before = Counts(online);
            Assert.Contains("recommendations popularity 2-3 exp/x: 1 1 1 0 1 30", before, StringComparison.Ordinal);
            Assert.Contains("search lexical 1 default: 1 0 1 0 0 0", before, StringComparison.Ordinal);
        }
        // As after a crash before the shutdown checkpoint.
        await using (var store = new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _folder.Path }))
        {
            await store.InitializeAsync();
            await store.WriteStatePartAsync(part);
        }
        (engine, online) = await OpenAsync();
        await using (engine)
        {
            Assert.Equal(part.Sequence, engine.LastPartRestores["online"]);
            Assert.Equal(before, Counts(online));
            Assert.Equal(0, online.Ledger.UnattributedEvents);
        }

        // Registered after the engine's start (a server given a started engine, as the demo's): it restores itself.
        await using (var store = new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _folder.Path }))
        {
            await store.InitializeAsync();
            await store.WriteStatePartAsync(part);
        }
        (engine, online) = await OpenAsync(late: true);
        await using (engine)
        {
            Assert.False(engine.LastPartRestores.ContainsKey("online"));
            Assert.Equal(before, Counts(online));
            // Adopted: the next checkpoint writes it.
            await IngestAsync(engine, Event("alice", EventType.View, "a", 9));
            await engine.CheckpointStateAsync(CancellationToken.None);
            Assert.Equal(await engine.Store.GetLastSequenceAsync(), (await engine.Store.ReadStatePartAsync("online"))!.Sequence);
        }
    }

    [Fact]
    public async Task Erasure_ForgetsTheShoppersAnswers_AtOnceAndInTheNextCheckpoint()
    {
        var (engine, online) = await OpenAsync();
        await using (engine)
        {
            Assert.Empty(await engine.UpsertItemsAsync([new Item { Id = "a", Title = "A", Price = 12 }], CancellationToken.None));
            online.Serve(OnlineSurface.Recommendations, "carol-the-erased", null, [new ShownItem("a", "model")]);
            await IngestAsync(engine, Event("carol-the-erased", EventType.View, "a", 0));
            var receipt = await engine.EraseUserAsync("carol-the-erased", "test", CancellationToken.None);
            Assert.Contains(receipt!.Removed, line => line.StartsWith("online attribution: 1", StringComparison.Ordinal));
            await IngestAsync(engine, Event("carol-the-erased", EventType.Purchase, "a", 1));
            Assert.Equal(1, online.Ledger.UnattributedEvents);
            await engine.CheckpointStateAsync(CancellationToken.None);
            var part = (await engine.Store.ReadStatePartAsync("online"))!;
            Assert.DoesNotContain("carol-the-erased", System.Text.Encoding.UTF8.GetString(part.Data), StringComparison.Ordinal);
        }
    }

    public void Dispose() => _folder.Dispose();
}
