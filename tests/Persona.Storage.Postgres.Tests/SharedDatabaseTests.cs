using Npgsql;
using Persona.Abstractions;
using static Persona.Storage.Conformance.StoreTestData;

using Persona.Storage.Postgres.Testing;

namespace Persona.Storage.Postgres.Tests;

/// <summary>What a cluster relies on: several stores (as several nodes would open) on one schema.</summary>
public sealed class SharedDatabaseTests : IAsyncLifetime
{
    private readonly string _schema = TestPostgres.NewSchema();
    private readonly List<PostgresPersonaStore> _stores = [];

    public async Task InitializeAsync() => await (await TestPostgres.OpenAsync()).DisposeAsync();

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
        await TestPostgres.DropSchemaAsync(_schema);
    }

    private PostgresPersonaStore Open(int readPageSize = 50)
    {
        var store = new PostgresPersonaStore(TestPostgres.Options(_schema, readPageSize));
        _stores.Add(store);
        return store;
    }

    [Fact]
    public async Task NodesStartingTogether_MigrateOnce()
    {
        var stores = Enumerable.Range(0, 4).Select(_ => Open()).ToList();

        await Task.WhenAll(stores.Select(s => s.InitializeAsync()));

        await using var connection = await TestPostgres.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {_schema}.schema_migrations;", connection);
        Assert.Equal(PostgresPersonaStore.SchemaVersion, (long)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task NodesAppendingTogether_DenseSequencesCommittedInOrder_ATailerMissesNothing()
    {
        var nodes = new[] { Open(), Open(), Open() };
        foreach (var node in nodes) await node.InitializeAsync();
        var tailer = Open(readPageSize: 13);
        await tailer.InitializeAsync();
        const int batches = 40, perBatch = 25;

        // A node tails the log by sequence, as a silo keeps its item-side state current: it must see every event once.
        using var writing = new CancellationTokenSource();
        var seen = new List<StoredEvent>();
        var tail = Task.Run(async () =>
        {
            long after = 0;
            while (true)
            {
                var done = writing.IsCancellationRequested;
                await foreach (var e in tailer.ReadEventsAsync(after))
                {
                    seen.Add(e);
                    after = e.Sequence;
                }
                if (done) return;
                await Task.Delay(1);
            }
        });
        var acknowledged = await Task.WhenAll(nodes.Select((node, n) => Task.Run(async () =>
        {
            var stored = new List<StoredEvent>();
            for (var b = 0; b < batches; b++)
            {
                // Every node also retries another node's batch: each id is stored once, whoever wrote it first.
                var own = Events($"n{n}-b{b}", perBatch, userId: $"u{b % 7}");
                var other = Events($"n{(n + 1) % nodes.Length}-b{b}", perBatch, userId: $"u{b % 7}");
                stored.AddRange((await node.AppendEventsAsync(own)).Stored);
                stored.AddRange((await node.AppendEventsAsync(other)).Stored);
            }
            return stored;
        })));
        await writing.CancelAsync();
        await tail;

        var all = acknowledged.SelectMany(s => s).OrderBy(e => e.Sequence).ToList();
        Assert.Equal(nodes.Length * batches * perBatch, all.Count);
        Assert.Equal(all.Count, all.Select(e => e.Id).Distinct().Count());
        Assert.Equal(Enumerable.Range(1, all.Count).Select(i => (long)i), all.Select(e => e.Sequence));
        Assert.Equal(all.Select(e => (e.Sequence, e.Id)), seen.Select(e => (e.Sequence, e.Id)));
        Assert.Equal(all.Count, await nodes[0].GetLastSequenceAsync());
    }

    [Fact]
    public async Task AShopperRecord_NeverGoesBackToAnEarlierSequence_WhoeverWritesIt()
    {
        var (newOwner, oldOwner) = (Open(), Open());
        await newOwner.InitializeAsync();
        await oldOwner.InitializeAsync();

        await newOwner.WriteShopperStatesAsync([new ShopperStateRecord("u1", 9, [9]), new ShopperStateRecord("u2", 3, [3])], checkpoint: null);
        // A node that lost the shopper writes back what it held: older for u1 (kept out), newer for u2.
        await oldOwner.WriteShopperStatesAsync([new ShopperStateRecord("u1", 5, [5]), new ShopperStateRecord("u2", 4, [4])], checkpoint: null);

        Assert.Equal(9, (await newOwner.GetShopperStateAsync("u1"))!.ThroughSequence);
        Assert.Equal([9], (await newOwner.GetShopperStateAsync("u1"))!.State);
        Assert.Equal(4, (await newOwner.GetShopperStateAsync("u2"))!.ThroughSequence);
    }

    [Fact]
    public async Task UserEventsAfter_ReadOneShoppersTail_InSequenceOrder_WhicheverNodeAppended()
    {
        var (a, b) = (Open(), Open());
        await a.InitializeAsync();
        await b.InitializeAsync();
        await a.AppendEventsAsync([Event("e1", "u1"), Event("e2", "u2")]);
        await b.AppendEventsAsync([Event("e3", "u1")]);
        await a.AppendEventsAsync([Event("e4", "u1")]);

        var all = await b.GetUserEventsAfterAsync("u1", 0);
        Assert.Equal(["e1", "e3", "e4"], all.Select(e => e.Id));
        Assert.Equal(["e3", "e4"], (await a.GetUserEventsAfterAsync("u1", all[0].Sequence)).Select(e => e.Id));
        Assert.Empty(await a.GetUserEventsAfterAsync("u1", all[^1].Sequence));

        // Several shoppers at once, each from its own sequence, in sequence order.
        var many = await b.GetUsersEventsAfterAsync(new Dictionary<string, long> { ["u1"] = all[0].Sequence, ["u2"] = 0, ["nobody"] = 0 });
        Assert.Equal(["e2", "e3", "e4"], many.Select(e => e.Id));
    }

    [Theory]
    [InlineData("Host=db;Maximum Pool Size=9", true)]
    [InlineData("Host=db;Max Pool Size=7", true)]
    [InlineData("Host=db;MaxPoolSize=8", true)]
    [InlineData("Host=db;Username=persona", false)]
    public void ThePoolSize_IsTheConnectionStrings_WhenItNamesOne(string connectionString, bool named) =>
        Assert.Equal(named, PostgresPersonaStore.NamesPoolSize(connectionString));

    [Fact]
    public async Task Erasure_OnOneNode_FreesNoSequenceForAnother()
    {
        var first = Open();
        var second = Open();
        await first.InitializeAsync();
        await second.InitializeAsync();
        await first.AppendEventsAsync(Events("keep", 3, userId: "stays"));
        var newest = await first.AppendEventsAsync(Events("gone", 4, userId: "leaves"));

        await first.EraseUserAsync("leaves", []);
        var next = await second.AppendEventsAsync([Event("after", "stays")]);

        Assert.Equal(newest.Stored[^1].Sequence + 1, next.Stored[0].Sequence);
        Assert.Empty(await second.GetUserEventsAsync("leaves"));
    }

    [Fact]
    public async Task NodesSavingOverlappingProfiles_NeverDeadlock_AndTheNewestVersionOfEachWins()
    {
        var nodes = new[] { Open(), Open(), Open() };
        foreach (var node in nodes) await node.InitializeAsync();
        var users = Enumerable.Range(0, 40).Select(i => $"p{i}").ToList();

        // Each node writes every shopper, in its own order, many times over: without key-ordered writes two such
        // transactions lock rows in opposite orders and one is aborted as a deadlock.
        await Task.WhenAll(nodes.Select((node, n) => Task.Run(async () =>
        {
            var random = new Random(n);
            for (var round = 1; round <= 15; round++)
            {
                var batch = users.OrderBy(_ => random.Next()).Select(u => Profile(u, version: round * 10 + n)).ToList();
                await node.SaveProfilesAsync(batch);
            }
        })));

        foreach (var user in users)
            Assert.Equal(15 * 10 + nodes.Length - 1, (await nodes[0].GetProfileAsync(user))!.Version);
    }

    [Fact]
    public async Task ErasureOnOneNode_BesideAppendsOnAnother_RemovesTheShopperAndLosesNoOtherEvent()
    {
        var writer = Open();
        var eraser = Open();
        await writer.InitializeAsync();
        await eraser.InitializeAsync();
        await writer.AppendEventsAsync(Events("gone", 30, userId: "leaves"));

        var appending = Task.Run(async () =>
        {
            var stored = 0;
            for (var b = 0; b < 40; b++) stored += (await writer.AppendEventsAsync(Events($"stay-{b}", 10, userId: $"s{b % 3}"))).Stored.Count;
            return stored;
        });
        var erased = await eraser.EraseUserAsync("leaves", []);
        var stored = await appending;

        Assert.Equal(30, erased.Events);
        Assert.Empty(await writer.GetUserEventsAsync("leaves"));
        Assert.Equal(stored, await writer.CountEventsAsync());
        Assert.Equal(30 + stored, await writer.GetLastSequenceAsync());
    }

    [Fact]
    public async Task Options_BadSchemaOrConnection_AreRefusedNamingTheField()
    {
        var badSchema = Assert.Throws<ArgumentException>(() => new PostgresPersonaStore(TestPostgres.Options("Robert'); DROP")));
        Assert.Contains(nameof(PostgresStoreOptions.Schema), badSchema.Message);
        var noConnection = Assert.Throws<ArgumentException>(() => new PostgresPersonaStore(new PostgresStoreOptions()));
        Assert.Contains(nameof(PostgresStoreOptions.ConnectionString), noConnection.Message);
        var store = new PostgresPersonaStore(new PostgresStoreOptions { ConnectionString = "Host=127.0.0.1;Port=1;Username=x;Password=x;Timeout=1" });
        await using (store)
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => store.InitializeAsync());
    }
}
