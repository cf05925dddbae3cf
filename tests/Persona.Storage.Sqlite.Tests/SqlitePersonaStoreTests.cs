using Microsoft.Data.Sqlite;
using Persona.Abstractions;
using Persona.Storage.Conformance;
using static Persona.Storage.Conformance.StoreTestData;

namespace Persona.Storage.Sqlite.Tests;

/// <summary>The conformance suite on a real SQLite file in a fresh temp folder, plus SQLite-only behaviour.</summary>
public sealed class SqlitePersonaStoreTests : PersonaStoreConformanceTests
{
    // A small page makes the conformance suite cross page boundaries in every streaming read.
    private const int SmallPage = 7;

    private readonly string _directory =
        Path.Combine(Path.GetTempPath(), "persona-sqlite-tests", Guid.NewGuid().ToString("N"));

    private SqliteStoreOptions Options => new()
    {
        DataDirectory = _directory,
        ReadPageSize = SmallPage,
        BusyTimeoutMilliseconds = 5_000,
    };

    protected override async Task<IPersonaStore> CreateStoreAsync()
    {
        var store = new SqlitePersonaStore(Options);
        await store.InitializeAsync();
        return store;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    private string DatabasePath => Path.Combine(_directory, SqliteStoreOptions.DefaultFileName);

    /// <summary>A connection outside the store, as another process would open the file.</summary>
    private SqliteConnection OpenRaw()
    {
        var connection = new SqliteConnection(
            new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    [Fact]
    public async Task ReadItems_ShareWhatItemsHaveInCommon_AndReadAsWritten()
    {
        await using var store = new SqlitePersonaStore(Options);
        await store.InitializeAsync();
        var many = Enumerable.Range(0, 40).Select(i => Item($"sku-{i}", i)).ToList();
        var bare = new Item { Id = "bare", Title = "No attributes" };
        var wide = Item("wide") with { Attributes = Enumerable.Range(0, 12).ToDictionary(i => $"a{i}", i => new string('x', 40 + i)) };
        await store.UpsertItemsAsync([.. many, bare, wide]);

        var read = new List<Item>();
        await foreach (var item in store.ReadItemsAsync()) read.Add(item);

        var written = many.Append(bare).Append(wide).ToDictionary(i => i.Id);
        Assert.All(read, item => Assert.Equal(Json(written[item.Id]), Json(item)));
        var skus = read.Where(i => i.Id.StartsWith("sku-", StringComparison.Ordinal)).ToList();
        Assert.All(skus, i => Assert.Same(skus[0].CategoryPath, i.CategoryPath));
        Assert.All(skus, i => Assert.Same(skus[0].Currency, i.Currency));
        Assert.All(skus, i => Assert.Same(skus[0].Attributes["category_path_zh"], i.Attributes["category_path_zh"]));
        var first = skus[0].Attributes;
        Assert.True(first.ContainsKey("title_zh"));
        Assert.False(first.TryGetValue("nope", out _));
        Assert.Throws<KeyNotFoundException>(() => first["nope"]);
        Assert.Equal(first.Keys.Count(), first.Count);
        Assert.Equal(12, read.Single(i => i.Id == "wide").Attributes.Count);
        Assert.Empty(read.Single(i => i.Id == "bare").Attributes);
    }

    [Fact]
    public void Validate_DefaultsWithDirectory_NoErrors()
    {
        var options = new SqliteStoreOptions { DataDirectory = "data" };

        Assert.Empty(SqliteStoreOptions.Validate(options));
        Assert.Equal(SqliteStoreOptions.DefaultFileName, options.FileName);
        Assert.Equal(Path.Combine("data", "persona.db"), options.DatabasePath);
    }

    [Fact]
    public void Validate_BadValues_ReportsEachField()
    {
        var options = new SqliteStoreOptions
        {
            DataDirectory = " ",
            FileName = "sub/persona.db",
            BusyTimeoutMilliseconds = -1,
            ReadPageSize = 0,
            WriterCacheSizeKib = -5,
            WalAutoCheckpointPages = 0,
        };

        var errors = SqliteStoreOptions.Validate(options);

        Assert.Equal(6, errors.Count);
        Assert.Contains(errors, e => e.Contains(nameof(SqliteStoreOptions.DataDirectory)));
        Assert.Contains(errors, e => e.Contains(nameof(SqliteStoreOptions.FileName)));
        Assert.Contains(errors, e => e.Contains(nameof(SqliteStoreOptions.BusyTimeoutMilliseconds)));
        Assert.Contains(errors, e => e.Contains(nameof(SqliteStoreOptions.ReadPageSize)));
        Assert.Contains(errors, e => e.Contains(nameof(SqliteStoreOptions.WriterCacheSizeKib)));
        Assert.Contains(errors, e => e.Contains(nameof(SqliteStoreOptions.WalAutoCheckpointPages)));
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsNamingTheProblem()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SqlitePersonaStore(new SqliteStoreOptions()));

        Assert.Contains(nameof(SqliteStoreOptions.DataDirectory), ex.Message);
    }

    [Fact]
    public async Task Constructor_MissingNestedDirectory_CreatesIt()
    {
        var nested = Path.Combine(_directory, "a", "b");
        await using var store = new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = nested, FileName = "x.db" });

        Assert.True(Directory.Exists(nested));
        await store.InitializeAsync();
        Assert.True(File.Exists(Path.Combine(nested, "x.db")));
    }

    [Fact]
    public async Task Operations_BeforeInitialize_ThrowInvalidOperation()
    {
        await using var store = new SqlitePersonaStore(Options);

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.AppendEventsAsync([Event("e")]));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.CountEventsAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetItemAsync("i"));
    }

    [Fact]
    public async Task Initialize_FreshFile_WalModeAndSchemaVersionRecorded()
    {
        await OpenAsync();

        using var raw = OpenRaw();
        Assert.Equal("wal", Scalar(raw, "PRAGMA journal_mode;"));
        Assert.Equal(10L, Scalar(raw, "SELECT max(version) FROM schema_migrations;"));
        Assert.Equal(10L, Scalar(raw, "SELECT count(*) FROM schema_migrations;"));
        Assert.Equal(1L, Scalar(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'ix_events_user_sequence';"));
        Assert.Equal(1L, Scalar(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'shopper_state_heads';"));
        // The heads are read from the index alone, never through the records.
        using var plan = raw.CreateCommand();
        plan.CommandText = "EXPLAIN QUERY PLAN SELECT user_id, through_sequence, latest_ticks FROM shopper_states INDEXED BY shopper_state_heads WHERE latest_ticks IS NOT NULL;";
        using var steps = plan.ExecuteReader();
        Assert.True(steps.Read());
        Assert.Contains("COVERING INDEX shopper_state_heads", steps.GetString(3), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Initialize_SecondStoreOnSameFile_DoesNotReapplyMigrations()
    {
        var first = await OpenAsync();
        await first.AppendEventsAsync(Events("m", 4));
        await first.DisposeAsync();

        await OpenAsync();

        using var raw = OpenRaw();
        Assert.Equal(10L, Scalar(raw, "SELECT count(*) FROM schema_migrations;"));
        Assert.Equal(4L, Scalar(raw, "SELECT count(*) FROM events;"));
    }

    [Fact]
    public async Task Initialize_FileOfTheVersionBeforeRequestIds_GainsTheColumnsAndKeepsItsEvents()
    {
        var first = await OpenAsync();
        await first.AppendEventsAsync(Events("old", 3, userId: "old"));
        await first.DisposeAsync();
        // The file as version 9 left it: no request_id or position columns.
        using (var raw = OpenRaw())
        {
            Scalar(raw, "ALTER TABLE events DROP COLUMN request_id;");
            Scalar(raw, "ALTER TABLE events DROP COLUMN position;");
            Scalar(raw, "DELETE FROM schema_migrations WHERE version = 10;");
        }

        var store = await OpenAsync();
        var old = await store.GetUserEventsAsync("old");
        await store.AppendEventsAsync([old[0] with { Id = "new-click", Sequence = 0, Type = EventType.Click, RequestId = "rq_9", Position = 2 }]);

        Assert.Equal(3, old.Count);
        Assert.All(old, e => Assert.Null(e.RequestId));
        var added = Assert.Single(await store.GetEventsAsync(["new-click"]));
        Assert.Equal(("rq_9", 2), (added.RequestId, added.Position));
    }

    [Fact]
    public async Task StatePart_LargerThanOneChunk_StoredInChunksAndReadBackWhole()
    {
        var store = await OpenAsync();
        var data = new byte[SqlitePersonaStore.StatePartChunkBytes + 5];
        new Random(7).NextBytes(data);

        await store.WriteStatePartAsync(new StatePart("big", "fp", 3, DateTimeOffset.UnixEpoch, data));

        using (var raw = OpenRaw())
            Assert.Equal(2L, Scalar(raw, "SELECT count(*) FROM state_parts WHERE name = 'big';"));
        var read = (await store.ReadStatePartAsync("big"))!.Data;
        Assert.True(data.AsSpan().SequenceEqual(read));
    }

    [Fact]
    public async Task Initialize_FileFromNewerBuild_RefusesToOpen()
    {
        var first = await OpenAsync();
        await first.DisposeAsync();
        using (var raw = OpenRaw())
            Scalar(raw, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (99, 'future', 0);");

        await using var store = new SqlitePersonaStore(Options);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync());
        Assert.Contains("99", ex.Message);
    }

    [Fact]
    public async Task AppendEvents_Acknowledged_VisibleToAnotherConnectionBeforeDispose()
    {
        var store = await OpenAsync();

        await store.AppendEventsAsync(Events("d", 5));

        // Committed to the WAL on disk, not held in the store's memory.
        using var raw = OpenRaw();
        Assert.Equal(5L, Scalar(raw, "SELECT count(*) FROM events;"));
        Assert.Equal(BaseTime.ToUnixTimeMilliseconds(), Scalar(raw, "SELECT timestamp FROM events WHERE id = 'd-0';"));
        Assert.Equal("view", Scalar(raw, "SELECT type FROM events WHERE id = 'd-0';"));
    }

    [Fact]
    public async Task Reads_WhileAnotherWriterHoldsTheLock_DoNotWaitAndSeeOnlyCommittedRows()
    {
        var store = await OpenAsync();
        await store.AppendEventsAsync(Events("c", 3));
        using var raw = OpenRaw();
        using var pending = raw.BeginTransaction(deferred: false);
        using (var insert = raw.CreateCommand())
        {
            insert.Transaction = pending;
            insert.CommandText =
                "INSERT INTO events (id, user_id, type, timestamp, received_at) VALUES ('uncommitted', 'u', 'view', 0, 0);";
            insert.ExecuteNonQuery();
        }

        // With the write lock held elsewhere, a reader that waited would hit the 5 s busy timeout instead.
        var count = await Task.Run(() => store.CountEventsAsync()).WaitAsync(TimeSpan.FromSeconds(4));

        Assert.Equal(3, count);
        Assert.Empty(await store.GetEventsAsync(["uncommitted"]));
        pending.Rollback();
    }

    [Fact]
    public async Task AppendEvents_WhileAnotherWriterHoldsTheLock_WaitsThenSucceeds()
    {
        var store = await OpenAsync();
        using var raw = OpenRaw();
        var pending = raw.BeginTransaction(deferred: false);

        // Task.Run: SQLite waits for the lock synchronously, on whichever thread calls it.
        var append = Task.Run(() => store.AppendEventsAsync(Events("w", 4)));
        await Task.Delay(300);
        Assert.False(append.IsCompleted);
        pending.Commit();
        pending.Dispose();

        var result = await append.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(4, result.Stored.Count);
    }

    [Fact]
    public async Task Dispose_AfterWrites_FoldsWalIntoDatabaseFile()
    {
        var store = await OpenAsync();
        await store.AppendEventsAsync(Events("f", 50));

        await store.DisposeAsync();

        var wal = DatabasePath + "-wal";
        Assert.True(!File.Exists(wal) || new FileInfo(wal).Length == 0);
        using var raw = OpenRaw();
        Assert.Equal(50L, Scalar(raw, "SELECT count(*) FROM events;"));
    }
}
