using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Hosting;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary>Restart from the state checkpoint (docs/state.md): shopper records plus the log's tail equal a full replay.</summary>
public sealed class StateCheckpointTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly DataFolder _folder = new("persona-state");

    private async Task<PersonaEngine> OpenAsync(ProfileOptions? profiles = null)
    {
        var options = new PersonaOptions { DataDirectory = _folder.Path };
        if (profiles is not null) options.Profiles = profiles;
        var engine = new PersonaEngine(new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _folder.Path }),
            Options.Create(options), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        await engine.StartAsync(null, CancellationToken.None);
        return engine;
    }

    private static List<Event> History(int seed, int count)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(i => new Event
        {
            Id = $"e{seed}-{i}",
            UserId = "u" + random.Next(12),
            Type = new[] { EventType.View, EventType.Click, EventType.AddToCart, EventType.Favorite, EventType.Purchase }[random.Next(5)],
            ItemId = "i" + random.Next(6),
            Timestamp = Start.AddMinutes(random.Next(0, 30 * 24 * 60)),
            Device = random.Next(2) == 0 ? "mobile" : "desktop",
        })];
    }

    private static async Task IngestAsync(PersonaEngine engine, List<Event> events)
    {
        var outcome = await engine.IngestEventsAsync(events, CancellationToken.None);
        Assert.True(outcome.Errors.Count == 0, string.Join("; ", outcome.Errors.Take(3)));
        Assert.Equal(events.Count, outcome.Stored);
    }

    private static async Task SeedAsync(PersonaEngine engine)
    {
        Assert.Empty(await engine.UpsertItemsAsync([.. Enumerable.Range(0, 6).Select(i => new Item
        {
            Id = "i" + i, Title = "item " + i, CategoryPath = ["Beauty", i % 2 == 0 ? "Lipstick" : "Skincare"], Brand = "b" + (i % 3), Price = 10 + i * 7,
        })], CancellationToken.None));
    }

    private static Dictionary<string, string> Profiles(PersonaEngine engine) =>
        engine.ProfileUsers.Order(StringComparer.Ordinal).ToDictionary(u => u, u => System.Text.Json.JsonSerializer.Serialize(engine.GetProfile(u, enrich: false).Profile));

    [Fact]
    public async Task Restart_FromCheckpointPlusTail_EqualsFullReplay_AndReadsOnlyTheTail()
    {
        Dictionary<string, string> before;
        await using (var engine = await OpenAsync())
        {
            await SeedAsync(engine);
            await IngestAsync(engine, History(1, 300));
            Assert.True(await engine.CheckpointStateAsync(CancellationToken.None) > 0);
            // After the checkpoint: the tail a restart replays.
            await IngestAsync(engine, History(2, 40));
            before = Profiles(engine);
        }
        await using (var engine = await OpenAsync())
        {
            Assert.Equal(before, Profiles(engine));
            var restore = engine.LastRestore!;
            Assert.True(restore.CheckpointSequence >= 340, $"checkpoint at {restore.CheckpointSequence}");
            Assert.Equal(0, restore.TailEvents);
            Assert.Equal(before.Count, restore.Shoppers);
            await IngestAsync(engine, History(3, 25));
            before = Profiles(engine);
        }

        // A full replay of the same log (checkpoint removed) gives the same profiles.
        await ExecuteAsync("DELETE FROM state_checkpoints;");
        await using (var engine = await OpenAsync())
        {
            Assert.Equal(0, engine.LastRestore!.CheckpointSequence);
            Assert.Equal(365, engine.LastRestore.TailEvents);
            Assert.Equal(before, Profiles(engine));
        }
    }

    [Fact]
    public async Task Restart_ShoppersWrittenPastTheCheckpoint_AreNotCountedTwice()
    {
        Dictionary<string, string> before;
        await using (var engine = await OpenAsync())
        {
            await SeedAsync(engine);
            await IngestAsync(engine, History(1, 200));
            await engine.CheckpointStateAsync(CancellationToken.None);
            before = Profiles(engine);
        }
        // As if the last checkpoint row were older than the records (a crash between chunks and row).
        await ExecuteAsync("UPDATE state_checkpoints SET sequence = 50;");
        await using (var engine = await OpenAsync())
        {
            Assert.Equal(150, engine.LastRestore!.TailEvents);
            Assert.Equal(before, Profiles(engine));
        }
    }

    [Fact]
    public async Task Restart_DamagedRecordOrChangedOptions_RebuildsFromTheLog()
    {
        Dictionary<string, string> before;
        await using (var engine = await OpenAsync())
        {
            await SeedAsync(engine);
            await IngestAsync(engine, History(4, 250));
            before = Profiles(engine);
        }
        await ExecuteAsync("UPDATE shopper_states SET state = zeroblob(40) WHERE user_id = 'u3';");
        await using (var engine = await OpenAsync())
        {
            Assert.Equal(1, engine.LastRestore!.Rebuilt);
            Assert.Equal(before, Profiles(engine));
        }
        await using (var engine = await OpenAsync(new ProfileOptions { HalfLifeDays = 9 }))
        {
            Assert.Equal(0, engine.LastRestore!.CheckpointSequence);
            Assert.Equal(250, engine.LastRestore.TailEvents);
        }
    }

    [Fact]
    public async Task Erase_RemovesTheShopperFromTheCheckpointAtOnce()
    {
        await using var engine = await OpenAsync();
        await SeedAsync(engine);
        await IngestAsync(engine, History(5, 120));
        await engine.CheckpointStateAsync(CancellationToken.None);
        Assert.NotNull(await engine.Store.GetShopperStateAsync("u2", CancellationToken.None));

        Assert.NotNull(await engine.EraseUserAsync("u2", "test", CancellationToken.None));
        Assert.Null(await engine.Store.GetShopperStateAsync("u2", CancellationToken.None));
        await engine.CheckpointStateAsync(CancellationToken.None);
        Assert.Null(await engine.Store.GetShopperStateAsync("u2", CancellationToken.None));
        Assert.NotNull(await engine.Store.GetShopperStateAsync("u1", CancellationToken.None));
    }

    private Task ExecuteAsync(string sql) => _folder.ExecuteAsync(sql);

    /// <summary>/health's event count is kept by the engine (counting a large log takes SQLite seconds): it always equals the store's.</summary>
    [Fact]
    public async Task StoredEventCount_FollowsIngestDuplicatesErasureAndRestart()
    {
        await using var store = new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _folder.Path });
        await store.InitializeAsync();
        async Task SameAsStoreAsync(PersonaEngine engine) =>
            Assert.Equal(await store.CountEventsAsync(), (await engine.GetStatsAsync(CancellationToken.None)).Events);

        await using (var engine = await OpenAsync())
        {
            await SeedAsync(engine);
            var history = History(seed: 3, count: 300);
            await IngestAsync(engine, history);
            await SameAsStoreAsync(engine);
            // Resent events are duplicates: stored once, counted once.
            Assert.Equal(0, (await engine.IngestEventsAsync(history.Take(50).ToList(), CancellationToken.None)).Stored);
            await SameAsStoreAsync(engine);
            Assert.NotNull(await engine.EraseUserAsync("u3", "test", CancellationToken.None));
            await SameAsStoreAsync(engine);
            Assert.True((await engine.GetStatsAsync(CancellationToken.None)).Events < 300);
        }
        await using (var restarted = await OpenAsync())
        {
            await SameAsStoreAsync(restarted);
            await IngestAsync(restarted, History(seed: 4, count: 40));
            await SameAsStoreAsync(restarted);
        }
    }

    public void Dispose() => _folder.Dispose();
}
