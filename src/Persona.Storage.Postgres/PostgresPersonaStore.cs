using System.Runtime.CompilerServices;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Persona.Abstractions;
using static Persona.Abstractions.StoreRows;

namespace Persona.Storage.Postgres;

/// <summary>
/// The store of a cluster: PostgreSQL as the system of record, shared by every node.
/// <para>
/// Each call is one transaction on a pooled connection. Appends lock the single <c>event_sequence</c> row, so
/// sequence numbers are given in batch order, densely, and committed in the order they were given, by however many
/// processes share the database: a reader that saw sequence <c>n</c> has seen every event below it, which is what
/// lets a node tail the log by sequence. Events go in by binary <c>COPY</c>. Times are stored as UTC milliseconds,
/// as the SQLite store stores them, so both return the same events.
/// </para>
/// Call <see cref="InitializeAsync"/> once before anything else.
/// </summary>
public sealed class PostgresPersonaStore : IPersonaStore
{
    private readonly PostgresStoreOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly SemaphoreSlim _initializeLock = new(1, 1);
    private volatile bool _initialized;
    private volatile bool _disposed;

    public PostgresPersonaStore(PostgresStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = PostgresStoreOptions.Validate(options);
        if (errors.Count > 0)
            throw new ArgumentException("Invalid PostgreSQL store options: " + string.Join(" ", errors), nameof(options));
        _options = options;
        var connection = new NpgsqlConnectionStringBuilder(options.ConnectionString)
        {
            // Npgsql's default pool (100) is PostgreSQL's default max_connections: a second node would be refused
            // connections under load. A connection string that names a size keeps it.
            MaxPoolSize = NamesPoolSize(options.ConnectionString) ? new NpgsqlConnectionStringBuilder(options.ConnectionString).MaxPoolSize : PostgresStoreOptions.DefaultMaxPoolSize,
            SearchPath = options.Schema,
            CommandTimeout = options.CommandTimeoutSeconds,
            // Bulk appends stream whole chunks by COPY: fewer, larger socket writes.
            WriteBufferSize = Math.Max(new NpgsqlConnectionStringBuilder(options.ConnectionString).WriteBufferSize, 64 * 1024),
        };
        _dataSource = NpgsqlDataSource.Create(connection);
    }

    /// <summary>Whether the connection string sets the pool's size itself (under any of Npgsql's spellings).</summary>
    public static bool NamesPoolSize(string connectionString)
    {
        var keys = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>();
        return keys.Any(k => k.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant() is "MAXPOOLSIZE" or "MAXIMUMPOOLSIZE");
    }

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => PostgresSchema.CurrentVersion;

    /// <summary>The schema holding the tables.</summary>
    public string Schema => _options.Schema;

    /// <summary>Where a store with these options connects, without its password.</summary>
    public static string Describe(PostgresStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        return $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database}, schema {options.Schema}";
    }

    /// <summary>Whether the schema already holds a Persona store; creates nothing.</summary>
    public static async Task<bool> ExistsAsync(PostgresStoreOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        await using var connection = new NpgsqlConnection(options.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL;", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = options.Schema + ".schema_migrations" });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _initializeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized) return;
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await PostgresSchema.MigrateAsync(connection, _options.Schema, cancellationToken).ConfigureAwait(false);
            _initialized = true;
        }
        finally
        {
            _initializeLock.Release();
        }
    }

    // ---------------------------------------------------------------- events

    /// <inheritdoc />
    public Task<AppendResult> AppendEventsAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken = default) =>
        AppendAsync(events, lookUpStored: true, cancellationToken);

    /// <summary>
    /// As <see cref="AppendEventsAsync"/>, for the large chunks of an import: copies inside the chunk are dropped in memory
    /// and the chunk is copied in without first looking its ids up (a quarter of the server's work per chunk). When an
    /// id turns out to be stored already (a re-run import), the unique index refuses the chunk, the transaction is rolled
    /// back, and the chunk is appended again with the look-up, so sequences stay dense and in batch order.
    /// </summary>
    public async Task<AppendResult> AppendEventsBulkAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken = default)
    {
        try
        {
            return await AppendAsync(events, lookUpStored: false, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return await AppendAsync(events, lookUpStored: true, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<AppendResult> AppendAsync(IReadOnlyList<StoredEvent> events, bool lookUpStored, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        cancellationToken.ThrowIfCancellationRequested();
        if (events.Count == 0) return new AppendResult([], 0);
        var ids = new string[events.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var e = events[i] ?? throw new ArgumentException($"Event at index {i} is null.", nameof(events));
            ids[i] = e.Id ?? throw new ArgumentException($"Event at index {i} has no id.", nameof(events));
        }

        return await WriteAsync(async (connection, transaction) =>
        {
            // Held to the commit: the next appender, in this process or another, numbers after this batch.
            long highest;
            await using (var lockRow = new NpgsqlCommand("SELECT highest FROM event_sequence WHERE id = 1 FOR UPDATE;", connection, transaction))
                highest = (long)(await lockRow.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;

            var known = new HashSet<string>(ids.Length, StringComparer.Ordinal);
            if (lookUpStored)
            {
                await using var find = new NpgsqlCommand("SELECT id FROM events WHERE id = ANY($1);", connection, transaction);
                find.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = ids });
                await using var reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) known.Add(reader.GetString(0));
            }

            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var stored = new List<StoredEvent>(events.Count);
            var next = highest;
            for (var i = 0; i < events.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var e = events[i];
                // A known id, or a later copy inside the batch, is a duplicate.
                if (!known.Add(e.Id)) continue;
                stored.Add(e with
                {
                    Sequence = ++next,
                    Timestamp = FromUnixMilliseconds(e.Timestamp.ToUnixTimeMilliseconds()),
                    ReceivedAt = FromUnixMilliseconds(e.ReceivedAt == default ? now : e.ReceivedAt.ToUnixTimeMilliseconds()),
                });
            }
            if (stored.Count == 0) return new AppendResult([], events.Count);

            await CopyEventsAsync(connection, stored, cancellationToken).ConfigureAwait(false);
            await using (var advance = new NpgsqlCommand("UPDATE event_sequence SET highest = $1 WHERE id = 1;", connection, transaction))
            {
                advance.Parameters.Add(new NpgsqlParameter<long> { TypedValue = next });
                await advance.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return new AppendResult(stored, events.Count - stored.Count);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes events with their sequences by binary COPY; a missing required field fails the whole transaction.</summary>
    private static async Task CopyEventsAsync(NpgsqlConnection connection, IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync(
            $"COPY events ({EventColumns}) FROM STDIN (FORMAT BINARY);", cancellationToken).ConfigureAwait(false);
        // In id order: the unique id index then takes its entries page by page instead of all over the tree.
        var byId = new StoredEvent[events.Count];
        for (var i = 0; i < byId.Length; i++) byId[i] = events[i];
        Array.Sort(byId, static (a, b) => string.CompareOrdinal(a.Id, b.Id));
        // Synchronous field writes: they only fill the connection's buffer, which blocks on the socket once per buffer.
        foreach (var e in byId)
        {
            cancellationToken.ThrowIfCancellationRequested();
            copy.StartRow();
            copy.Write(e.Sequence, NpgsqlDbType.Bigint);
            WriteText(copy, e.Id);
            WriteText(copy, e.UserId);
            WriteText(copy, e.Type.ToWire());
            WriteText(copy, e.ItemId);
            WriteText(copy, e.Query);
            if (e.Value is { } value && double.IsFinite(value)) copy.Write(value, NpgsqlDbType.Double);
            else copy.WriteNull();
            copy.Write(e.Timestamp.ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
            copy.Write(e.ReceivedAt.ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
            WriteText(copy, e.SessionId);
            WriteText(copy, e.Device);
            WriteText(copy, e.Channel);
            WriteText(copy, e.ExcludedReason);
            WriteText(copy, e.RequestId);
            if (e.Position is { } position) copy.Write((long)position, NpgsqlDbType.Bigint);
            else copy.WriteNull();
        }
        await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void WriteText(NpgsqlBinaryImporter copy, string? value)
    {
        if (value is null) copy.WriteNull();
        else copy.Write(value, NpgsqlDbType.Text);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StoredEvent> ReadEventsAsync(long afterSequence = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        var after = afterSequence;
        while (true)
        {
            // Each page is its own short query, so a slow consumer holds no snapshot open.
            var page = await QueryEventsAsync(
                $"SELECT {EventColumns} FROM events WHERE sequence > $1 ORDER BY sequence LIMIT $2;",
                command =>
                {
                    command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
                    command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _options.ReadPageSize });
                }, cancellationToken).ConfigureAwait(false);
            foreach (var e in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return e;
            }
            if (page.Count < _options.ReadPageSize) yield break;
            after = page[^1].Sequence;
        }
    }

    /// <inheritdoc />
    /// <remarks>Synchronous inside: the engine rebuilds a cold shopper from these under the shopper's lock (see <see cref="GetShopperStateAsync"/>).</remarks>
    public Task<IReadOnlyList<StoredEvent>> GetUserEventsAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        EnsureInitialized();
        cancellationToken.ThrowIfCancellationRequested();
        using var command = _dataSource.CreateCommand($"SELECT {EventColumns} FROM events WHERE user_id = $1 ORDER BY sequence;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
        using var reader = command.ExecuteReader();
        var events = new List<StoredEvent>();
        while (reader.Read()) events.Add(ReadEvent(reader));
        return Task.FromResult<IReadOnlyList<StoredEvent>>(events);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredEvent>> GetUserEventsAfterAsync(string userId, long afterSequence, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        EnsureInitialized();
        return await QueryEventListAsync($"SELECT {EventColumns} FROM events WHERE user_id = $1 AND sequence > $2 ORDER BY sequence;", command =>
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSequence });
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredEvent>> GetUsersEventsAfterAsync(IReadOnlyDictionary<string, long> after, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(after);
        EnsureInitialized();
        if (after.Count == 0) return [];
        var users = after.Keys.ToArray();
        var sequences = users.Select(u => after[u]).ToArray();
        // One index range per user (user_id, sequence), joined to the list of users and their sequences.
        return await QueryEventListAsync(
            $"SELECT {EventColumns} FROM events JOIN unnest($1::text[], $2::bigint[]) AS wanted (u, s) ON user_id = wanted.u AND sequence > wanted.s ORDER BY sequence;",
            command =>
            {
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = users });
                command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = sequences });
            }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredEvent>> GetEventsAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        EnsureInitialized();
        if (ids.Count == 0) return [];
        var array = ids.ToArray();
        return await QueryEventListAsync($"SELECT {EventColumns} FROM events WHERE id = ANY($1) ORDER BY sequence;",
            command => command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = array }), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<long> CountEventsAsync(CancellationToken cancellationToken = default) => ScalarAsync("SELECT count(*) FROM events;", cancellationToken);

    /// <inheritdoc />
    public Task<long> GetLastSequenceAsync(CancellationToken cancellationToken = default) =>
        ScalarAsync("SELECT highest FROM event_sequence WHERE id = 1;", cancellationToken);

    // ---------------------------------------------------------------- items and users

    /// <inheritdoc />
    public Task UpsertItemsAsync(IReadOnlyList<Item> items, CancellationToken cancellationToken = default) =>
        UpsertJsonAsync("items", items, item => item.Id, cancellationToken);

    /// <inheritdoc />
    public Task<Item?> GetItemAsync(string id, CancellationToken cancellationToken = default) =>
        GetJsonAsync<Item>("SELECT json FROM items WHERE id = $1;", id, cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<Item> ReadItemsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Whoever reads the whole catalog keeps it: share what the items have in common.
        var compactor = new ItemCompactor();
        await foreach (var item in ReadJsonPagesAsync<Item>("items", "id", cancellationToken).ConfigureAwait(false))
            yield return compactor.Compact(item);
    }

    /// <inheritdoc />
    public Task<long> CountItemsAsync(CancellationToken cancellationToken = default) => ScalarAsync("SELECT count(*) FROM items;", cancellationToken);

    /// <inheritdoc />
    public Task UpsertUsersAsync(IReadOnlyList<User> users, CancellationToken cancellationToken = default) =>
        UpsertJsonAsync("users", users, user => user.Id, cancellationToken);

    /// <inheritdoc />
    public Task<User?> GetUserAsync(string id, CancellationToken cancellationToken = default) =>
        GetJsonAsync<User>("SELECT json FROM users WHERE id = $1;", id, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<User> ReadUsersAsync(CancellationToken cancellationToken = default) =>
        ReadJsonPagesAsync<User>("users", "id", cancellationToken);

    /// <inheritdoc />
    public Task<long> CountUsersAsync(CancellationToken cancellationToken = default) => ScalarAsync("SELECT count(*) FROM users;", cancellationToken);

    /// <summary>Inserts or replaces JSON records by key in one statement; a key given twice keeps its last record, as row-by-row upserts would.</summary>
    private async Task UpsertJsonAsync<T>(string table, IReadOnlyList<T> records, Func<T, string> key, CancellationToken cancellationToken) where T : class
    {
        ArgumentNullException.ThrowIfNull(records);
        cancellationToken.ThrowIfCancellationRequested();
        if (records.Count == 0) return;
        var last = new Dictionary<string, string>(records.Count, StringComparer.Ordinal);
        for (var i = 0; i < records.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var record = records[i] ?? throw new ArgumentException($"{typeof(T).Name} at index {i} is null.", nameof(records));
            var id = key(record) ?? throw new ArgumentException($"{typeof(T).Name} at index {i} has no id.", nameof(records));
            last[id] = JsonSerializer.Serialize(record, PersonaJson.Options);
        }
        // In key order, so two writers upserting overlapping sets lock rows in the same order and cannot deadlock.
        var keys = last.Keys.ToArray();
        Array.Sort(keys, StringComparer.Ordinal);
        var json = new string[keys.Length];
        for (var i = 0; i < keys.Length; i++) json[i] = last[keys[i]];

        await WriteAsync(async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand(
                $"""
                INSERT INTO {table} (id, json, stored_at) SELECT k, j, $3 FROM unnest($1::text[], $2::text[]) AS r (k, j)
                ON CONFLICT (id) DO UPDATE SET json = excluded.json, stored_at = excluded.stored_at;
                """, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = keys });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = json });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- profiles

    /// <inheritdoc />
    public async Task SaveProfilesAsync(IReadOnlyList<Profile> profiles, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        cancellationToken.ThrowIfCancellationRequested();
        if (profiles.Count == 0) return;
        // The highest version of each shopper; of equal versions the first, as row-by-row "only when newer" writes keep.
        var newest = new Dictionary<string, Profile>(profiles.Count, StringComparer.Ordinal);
        for (var i = 0; i < profiles.Count; i++)
        {
            var profile = profiles[i] ?? throw new ArgumentException($"Profile at index {i} is null.", nameof(profiles));
            if (profile.UserId is null) throw new ArgumentException($"Profile at index {i} has no user id.", nameof(profiles));
            if (!newest.TryGetValue(profile.UserId, out var kept) || profile.Version > kept.Version) newest[profile.UserId] = profile;
        }
        var users = newest.Keys.ToArray();
        Array.Sort(users, StringComparer.Ordinal);
        var versions = new long[users.Length];
        var updated = new long[users.Length];
        var json = new string[users.Length];
        for (var i = 0; i < users.Length; i++)
        {
            var profile = newest[users[i]];
            versions[i] = profile.Version;
            updated[i] = profile.UpdatedAt.ToUnixTimeMilliseconds();
            json[i] = JsonSerializer.Serialize(profile, PersonaJson.Options);
        }

        await WriteAsync(async (connection, transaction) =>
        {
            // The WHERE keeps a stale writer (an older recomputation finishing late, on any node) from overwriting a newer profile.
            await using var command = new NpgsqlCommand(
                """
                INSERT INTO profiles (user_id, version, updated_at, json, stored_at)
                SELECT u, v, t, j, $5 FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) AS r (u, v, t, j)
                ON CONFLICT (user_id) DO UPDATE SET
                    version = excluded.version, updated_at = excluded.updated_at, json = excluded.json, stored_at = excluded.stored_at
                WHERE excluded.version > profiles.version;
                """, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = users });
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = versions });
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = updated });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = json });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<Profile?> GetProfileAsync(string userId, CancellationToken cancellationToken = default) =>
        GetJsonAsync<Profile>("SELECT json FROM profiles WHERE user_id = $1;", userId, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<Profile> ReadProfilesAsync(CancellationToken cancellationToken = default) =>
        ReadJsonPagesAsync<Profile>("profiles", "user_id", cancellationToken);

    /// <inheritdoc />
    public Task<long> CountProfilesAsync(CancellationToken cancellationToken = default) => ScalarAsync("SELECT count(*) FROM profiles;", cancellationToken);

    // ---------------------------------------------------------------- documents

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="json"/> is not a JSON document.</exception>
    public async Task PutDocumentAsync(string kind, string key, string json, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var _ = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"Document {kind}/{key} is not valid JSON: {ex.Message}", nameof(json), ex);
        }
        await WriteAsync((connection, transaction) => ApplyDocumentUpdatesAsync(connection, transaction, [new DocumentUpdate(kind, key, json)], cancellationToken),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<string?> GetDocumentAsync(string kind, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(key);
        EnsureInitialized();
        await using var command = _dataSource.CreateCommand("SELECT json FROM documents WHERE kind = $1 AND key = $2;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = kind });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListDocumentKeysAsync(string kind, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kind);
        EnsureInitialized();
        await using var command = _dataSource.CreateCommand("SELECT key FROM documents WHERE kind = $1 ORDER BY key;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = kind });
        var keys = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) keys.Add(reader.GetString(0));
        return keys;
    }

    /// <summary>Writes (or, with a null json, deletes) documents inside a transaction; returns how many rows changed.</summary>
    private static async Task<int> ApplyDocumentUpdatesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<DocumentUpdate> documents, CancellationToken cancellationToken)
    {
        var changed = 0;
        foreach (var document in documents)
        {
            await using var command = document.Json is null
                ? new NpgsqlCommand("DELETE FROM documents WHERE kind = $1 AND key = $2;", connection, transaction)
                : new NpgsqlCommand(
                    """
                    INSERT INTO documents (kind, key, json, stored_at) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (kind, key) DO UPDATE SET json = excluded.json, stored_at = excluded.stored_at;
                    """, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = document.Kind });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = document.Key });
            if (document.Json is not null)
            {
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = document.Json });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
            }
            changed += await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return changed;
    }

    // ---------------------------------------------------------------- derived state checkpoints

    /// <inheritdoc />
    public async Task WriteShopperStatesAsync(IReadOnlyList<ShopperStateRecord> states, StateCheckpoint? checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (states.Count == 0 && checkpoint is null) return;
        // The last record of a shopper written twice wins, as row-by-row replacement would; key order avoids deadlocks.
        var last = new Dictionary<string, ShopperStateRecord>(states.Count, StringComparer.Ordinal);
        foreach (var record in states) last[record.UserId] = record;
        var users = last.Keys.ToArray();
        Array.Sort(users, StringComparer.Ordinal);

        await WriteAsync(async (connection, transaction) =>
        {
            if (users.Length > 0)
            {
                var through = new long[users.Length];
                var data = new byte[users.Length][];
                var latest = new long?[users.Length];
                for (var i = 0; i < users.Length; i++)
                {
                    var record = last[users[i]];
                    (through[i], data[i], latest[i]) = (record.ThroughSequence, record.State, record.LatestTicks);
                }
                // A record never replaces one that reaches a later sequence: in a cluster, a node that has lost a shopper
                // to another cannot write an older state over the new owner's.
                await using var command = new NpgsqlCommand(
                    """
                    INSERT INTO shopper_states (user_id, through_sequence, state, latest_ticks)
                    SELECT u, t, s, l FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bigint[]) AS r (u, t, s, l)
                    ON CONFLICT (user_id) DO UPDATE SET through_sequence = excluded.through_sequence, state = excluded.state,
                        latest_ticks = excluded.latest_ticks
                    WHERE shopper_states.through_sequence <= excluded.through_sequence;
                    """, connection, transaction);
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = users });
                command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = through });
                command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = data });
                command.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = latest });
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            if (checkpoint is not null)
            {
                await using var command = new NpgsqlCommand(
                    """
                    INSERT INTO state_checkpoints (part, fingerprint, sequence, written_at, data) VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (part) DO UPDATE SET fingerprint = excluded.fingerprint, sequence = excluded.sequence,
                        written_at = excluded.written_at, data = excluded.data;
                    """, connection, transaction);
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = checkpoint.Part });
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = checkpoint.Fingerprint });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpoint.Sequence });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpoint.WrittenAt.ToUnixTimeMilliseconds() });
                command.Parameters.Add(new NpgsqlParameter { Value = (object?)checkpoint.Data ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Synchronous inside, like <see cref="GetUserEventsAsync"/>: the engine loads a cold shopper under that shopper's lock
    /// and waits for the answer (its loader is synchronous). Waiting on Npgsql's asynchronous reads there holds one pool
    /// thread and needs a second for the completion; 64 concurrent readers of cold shoppers starved the pool (load 20 on
    /// 2 cores at 100,000 shoppers). A blocking socket read needs only the thread that waits.
    /// </remarks>
    public Task<ShopperStateRecord?> GetShopperStateAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        EnsureInitialized();
        cancellationToken.ThrowIfCancellationRequested();
        using var command = _dataSource.CreateCommand("SELECT user_id, through_sequence, state, latest_ticks FROM shopper_states WHERE user_id = $1;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
        using var reader = command.ExecuteReader();
        return Task.FromResult(reader.Read() ? ReadShopperState(reader) : null);
    }

    /// <inheritdoc />
    public async Task<ShopperStateRecord?> ReadShopperStateAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        EnsureInitialized();
        await using var command = _dataSource.CreateCommand("SELECT user_id, through_sequence, state, latest_ticks FROM shopper_states WHERE user_id = $1;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadShopperState(reader) : null;
    }

    /// <inheritdoc />
    public IAsyncEnumerable<ShopperStateRecord> ReadShopperStatesAsync(CancellationToken cancellationToken = default) =>
        StreamRowsAsync("SELECT user_id, through_sequence, state, latest_ticks FROM shopper_states;", ReadShopperState, cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<ShopperStateHead> ReadShopperStateHeadsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // The record itself only where its newest time is not kept beside it; PostgreSQL does not read a column it is not asked for.
        await foreach (var head in StreamRowsAsync(
            "SELECT user_id, through_sequence, latest_ticks, CASE WHEN latest_ticks IS NULL THEN state END FROM shopper_states;",
            static reader => new ShopperStateHead(reader.GetString(0), reader.GetInt64(1),
                reader.IsDBNull(2) ? null : reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3)),
            cancellationToken).ConfigureAwait(false))
            yield return head;
    }

    /// <inheritdoc />
    public async Task<StateCheckpoint?> GetStateCheckpointAsync(string part, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(part);
        EnsureInitialized();
        await using var command = _dataSource.CreateCommand("SELECT part, fingerprint, sequence, written_at, data FROM state_checkpoints WHERE part = $1;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = part });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
        return new StateCheckpoint(reader.GetString(0), reader.GetString(1), reader.GetInt64(2),
            FromUnixMilliseconds(reader.GetInt64(3)), reader.IsDBNull(4) ? null : reader.GetFieldValue<byte[]>(4));
    }

    /// <inheritdoc />
    public Task ClearShopperStatesAsync(CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand("DELETE FROM shopper_states; DELETE FROM state_checkpoints;", connection, transaction);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Bytes per stored chunk of a state part: well below PostgreSQL's 1 GB value limit.</summary>
    public const int StatePartChunkBytes = 64 << 20;

    /// <inheritdoc />
    public Task WriteStatePartAsync(StatePart part, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(part);
        ArgumentException.ThrowIfNullOrEmpty(part.Name);
        ArgumentNullException.ThrowIfNull(part.Data);
        return WriteAsync(async (connection, transaction) =>
        {
            await using (var delete = new NpgsqlCommand("DELETE FROM state_parts WHERE name = $1;", connection, transaction))
            {
                delete.Parameters.Add(new NpgsqlParameter<string> { TypedValue = part.Name });
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            var index = 0;
            foreach (var piece in Chunks(part.Data, StatePartChunkBytes))
            {
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO state_parts (name, chunk, fingerprint, sequence, written_at, data) VALUES ($1, $2, $3, $4, $5, $6);", connection, transaction);
                insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = part.Name });
                insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = index++ });
                insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = part.Fingerprint });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = part.Sequence });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = part.WrittenAt.ToUnixTimeMilliseconds() });
                insert.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = piece, NpgsqlDbType = NpgsqlDbType.Bytea });
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return index;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<StatePart?> ReadStatePartAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        EnsureInitialized();
        await using var command = _dataSource.CreateCommand(
            "SELECT chunk, fingerprint, sequence, written_at, data FROM state_parts WHERE name = $1 ORDER BY chunk;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        StatePart? part = null;
        var chunks = new List<byte[]>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // Chunks are written together in one transaction; a gap would mean a foreign writer: no part.
            if (reader.GetInt32(0) != chunks.Count) return null;
            part ??= new StatePart(name, reader.GetString(1), reader.GetInt64(2), FromUnixMilliseconds(reader.GetInt64(3)), []);
            chunks.Add(reader.GetFieldValue<byte[]>(4));
        }
        return part is null ? null : part with { Data = Join(chunks) };
    }

    /// <inheritdoc />
    public Task ReplaceShopperResultsAsync(IEnumerable<ShopperResultRecord> results, IReadOnlyList<DocumentUpdate> documents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(documents);
        return WriteAsync(async (connection, transaction) =>
        {
            await using (var delete = new NpgsqlCommand("DELETE FROM shopper_results;", connection, transaction))
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using (var copy = await connection.BeginBinaryImportAsync("COPY shopper_results (user_id, data) FROM STDIN (FORMAT BINARY);", cancellationToken).ConfigureAwait(false))
            {
                var written = 0;
                foreach (var result in results)
                {
                    if (result is null || string.IsNullOrEmpty(result.UserId) || result.Data is null)
                        throw new ArgumentException($"Result row {written} has no user id or no data; nothing was written.", nameof(results));
                    written++;
                    await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                    await copy.WriteAsync(result.UserId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                    await copy.WriteAsync(result.Data, NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
                }
                await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }
            return await ApplyDocumentUpdatesAsync(connection, transaction, documents, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<ShopperResultRecord> ReadShopperResultsAsync(CancellationToken cancellationToken = default) =>
        StreamRowsAsync("SELECT user_id, data FROM shopper_results;",
            static reader => new ShopperResultRecord(reader.GetString(0), reader.GetFieldValue<byte[]>(1)), cancellationToken);

    private static ShopperStateRecord ReadShopperState(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetInt64(1), reader.GetFieldValue<byte[]>(2), reader.IsDBNull(3) ? null : reader.GetInt64(3));

    // ---------------------------------------------------------------- files

    /// <summary>Bytes per stored chunk of a file.</summary>
    public const int FileChunkBytes = 16 << 20;

    /// <inheritdoc />
    public Task WriteFilesAsync(IReadOnlyList<StoredFile> files, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        for (var i = 0; i < files.Count; i++)
        {
            if (files[i] is not { Name.Length: > 0, Content: not null })
                throw new ArgumentException($"File {i} has no name or no content; nothing was written.", nameof(files));
        }
        return WriteAsync(async (connection, transaction) =>
        {
            var at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            foreach (var file in files)
            {
                await using (var delete = new NpgsqlCommand("DELETE FROM files WHERE name = $1;", connection, transaction))
                {
                    delete.Parameters.Add(new NpgsqlParameter<string> { TypedValue = file.Name });
                    await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                var index = 0;
                foreach (var piece in Chunks(file.Content, FileChunkBytes))
                {
                    await using var insert = new NpgsqlCommand("INSERT INTO files (name, chunk, written_at, data) VALUES ($1, $2, $3, $4);", connection, transaction);
                    insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = file.Name });
                    insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = index++ });
                    insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = at });
                    insert.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = piece, NpgsqlDbType = NpgsqlDbType.Bytea });
                    await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            return files.Count;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<byte[]?> ReadFileAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        EnsureInitialized();
        await using var command = _dataSource.CreateCommand("SELECT chunk, data FROM files WHERE name = $1 ORDER BY chunk;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        var chunks = new List<byte[]>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.GetInt32(0) != chunks.Count) throw new InvalidDataException($"Stored file {name} misses chunk {chunks.Count}.");
            chunks.Add(reader.GetFieldValue<byte[]>(1));
        }
        return chunks.Count == 0 ? null : Join(chunks);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListFilesAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        EnsureInitialized();
        await using var command = _dataSource.CreateCommand("SELECT name FROM files WHERE chunk = 0 AND starts_with(name, $1) ORDER BY name;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = prefix });
        var names = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) names.Add(reader.GetString(0));
        return names;
    }

    /// <inheritdoc />
    public Task<int> DeleteFilesAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand(
                "WITH gone AS (DELETE FROM files WHERE starts_with(name, $1) RETURNING chunk) SELECT count(*) FROM gone WHERE chunk = 0;", connection, transaction);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = prefix });
            return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }, cancellationToken);
    }

    // ---------------------------------------------------------------- erasure and audit

    /// <inheritdoc />
    public async Task<StoreErasure> EraseUserAsync(string userId, IReadOnlyList<DocumentUpdate> documents, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(documents);
        return await WriteAsync(async (connection, transaction) =>
        {
            async Task<int> ExecuteAsync(string sql, bool forUser = true)
            {
                await using var command = new NpgsqlCommand(sql, connection, transaction);
                if (forUser) command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
                return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            // The sequences of the deleted events stay given: event_sequence keeps the highest ever given.
            var events = await ExecuteAsync("DELETE FROM events WHERE user_id = $1;").ConfigureAwait(false);
            var profile = await ExecuteAsync("DELETE FROM profiles WHERE user_id = $1;").ConfigureAwait(false) > 0;
            await ExecuteAsync("DELETE FROM shopper_states WHERE user_id = $1;").ConfigureAwait(false);
            await ExecuteAsync("DELETE FROM shopper_results WHERE user_id = $1;").ConfigureAwait(false);
            // Aggregates hold a share of every shopper and cannot drop one: they go whole, and are rebuilt from the log.
            await ExecuteAsync("DELETE FROM state_parts;", forUser: false).ConfigureAwait(false);
            var user = await ExecuteAsync("DELETE FROM users WHERE id = $1;").ConfigureAwait(false) > 0;
            var rewritten = await ApplyDocumentUpdatesAsync(connection, transaction, documents, cancellationToken).ConfigureAwait(false);
            return new StoreErasure(events, profile, user, rewritten);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await WriteAsync(async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand(
                "INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5);", connection, transaction);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = entry.At.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Actor });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Action });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Target });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)entry.Detail ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AuditEntry>> ReadAuditAsync(int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        EnsureInitialized();
        await using var command = _dataSource.CreateCommand("SELECT sequence, at, actor, action, target, detail FROM audit_log ORDER BY sequence DESC LIMIT $1;");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            entries.Add(new AuditEntry(FromUnixMilliseconds(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5)) { Sequence = reader.GetInt64(0) });
        return entries;
    }

    // ---------------------------------------------------------------- lifetime

    /// <summary>Closes the pool; the data stays on the server.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        _initialized = false;
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Runs <paramref name="work"/> in one transaction on a pooled connection; an exception rolls all of it back.</summary>
    private async Task<T> WriteAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnsureInitialized();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var result = await work(connection, transaction).ConfigureAwait(false);
        // Not cancellable: once the work is done, a commit that is cut off would leave the caller unsure what is stored.
        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return result;
    }

    private async Task<T?> GetJsonAsync<T>(string sql, string key, CancellationToken cancellationToken) where T : class
    {
        ArgumentNullException.ThrowIfNull(key);
        EnsureInitialized();
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? Deserialize<T>(json) : null;
    }

    /// <summary>Streams a JSON table in key order, one short query per page.</summary>
    private async IAsyncEnumerable<T> ReadJsonPagesAsync<T>(string table, string keyColumn, [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        EnsureInitialized();
        string? after = null;
        var page = new List<(string Key, string Json)>();
        while (true)
        {
            page.Clear();
            await using (var command = _dataSource.CreateCommand(after is null
                ? $"SELECT {keyColumn}, json FROM {table} ORDER BY {keyColumn} LIMIT $1;"
                : $"SELECT {keyColumn}, json FROM {table} WHERE {keyColumn} > $2 ORDER BY {keyColumn} LIMIT $1;"))
            {
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _options.ReadPageSize });
                if (after is not null) command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = after });
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) page.Add((reader.GetString(0), reader.GetString(1)));
            }
            foreach (var (_, json) in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return Deserialize<T>(json);
            }
            if (page.Count < _options.ReadPageSize) yield break;
            after = page[^1].Key;
        }
    }

    /// <summary>Every row of a parameterless query, mapped one at a time as the server sends them.</summary>
    private async IAsyncEnumerable<T> StreamRowsAsync<T>(string sql, Func<NpgsqlDataReader, T> map, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EnsureInitialized();
        await using var command = _dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) yield return map(reader);
    }

    private async Task<List<StoredEvent>> QueryEventsAsync(string sql, Action<NpgsqlCommand> bind, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(sql);
        bind(command);
        var events = new List<StoredEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) events.Add(ReadEvent(reader));
        return events;
    }

    private async Task<IReadOnlyList<StoredEvent>> QueryEventListAsync(string sql, Action<NpgsqlCommand> bind, CancellationToken cancellationToken) =>
        await QueryEventsAsync(sql, bind, cancellationToken).ConfigureAwait(false);

    private async Task<long> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        EnsureInitialized();
        await using var command = _dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    private void EnsureInitialized()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_initialized)
            throw new InvalidOperationException($"Call {nameof(InitializeAsync)} before using the {nameof(PostgresPersonaStore)}.");
    }
}
