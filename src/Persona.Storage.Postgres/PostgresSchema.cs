using Npgsql;

namespace Persona.Storage.Postgres;

/// <summary>
/// Versioned schema, as the SQLite store's: each migration runs once, inside the transaction that records it in
/// <c>schema_migrations</c>; shipped versions are never edited. Key columns use the "C" collation, so keys compare and
/// sort by code point whatever the database's locale is (the order SQLite and the engine's ordinal comparers use). Large
/// values (profiles, records, parts) are compressed with lz4, several times faster than the default pglz.
/// </summary>
internal static class PostgresSchema
{
    internal sealed record Migration(int Version, string Description, string Sql);

    internal static readonly Migration[] Migrations =
    [
        new(1, "events with their sequence, catalog, users, profiles, documents, audit, derived state",
            """
            CREATE TABLE events (
                sequence        bigint           PRIMARY KEY,
                id              text COLLATE "C" NOT NULL UNIQUE,
                user_id         text COLLATE "C" NOT NULL,
                type            text             NOT NULL,
                item_id         text,
                query           text,
                value           double precision,
                timestamp       bigint           NOT NULL,
                received_at     bigint           NOT NULL,
                session_id      text,
                device          text,
                channel         text,
                excluded_reason text
            );
            CREATE INDEX ix_events_user_sequence ON events (user_id, sequence);

            -- The highest sequence ever given. Appenders lock this row, so numbers are given and committed in order
            -- by every process that shares the database, and one an erasure frees is never given again.
            CREATE TABLE event_sequence (
                id      integer NOT NULL PRIMARY KEY CHECK (id = 1),
                highest bigint  NOT NULL
            );
            INSERT INTO event_sequence (id, highest) VALUES (1, 0);

            CREATE TABLE items (
                id        text COLLATE "C" NOT NULL PRIMARY KEY,
                json      text   COMPRESSION lz4 NOT NULL,
                stored_at bigint NOT NULL
            );

            CREATE TABLE users (
                id        text COLLATE "C" NOT NULL PRIMARY KEY,
                json      text   COMPRESSION lz4 NOT NULL,
                stored_at bigint NOT NULL
            );

            CREATE TABLE profiles (
                user_id    text COLLATE "C" NOT NULL PRIMARY KEY,
                version    bigint NOT NULL,
                updated_at bigint NOT NULL,
                json       text   COMPRESSION lz4 NOT NULL,
                stored_at  bigint NOT NULL
            );

            CREATE TABLE documents (
                kind      text COLLATE "C" NOT NULL,
                key       text COLLATE "C" NOT NULL,
                json      text   COMPRESSION lz4 NOT NULL,
                stored_at bigint NOT NULL,
                PRIMARY KEY (kind, key)
            );

            CREATE TABLE audit_log (
                sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at       bigint NOT NULL,
                actor    text   NOT NULL,
                action   text   NOT NULL,
                target   text   NOT NULL,
                detail   text
            );

            CREATE TABLE shopper_states (
                user_id          text COLLATE "C" NOT NULL PRIMARY KEY,
                through_sequence bigint NOT NULL,
                state            bytea  COMPRESSION lz4 NOT NULL,
                latest_ticks     bigint
            );

            CREATE TABLE state_checkpoints (
                part        text COLLATE "C" NOT NULL PRIMARY KEY,
                fingerprint text   NOT NULL,
                sequence    bigint NOT NULL,
                written_at  bigint NOT NULL,
                data        bytea
            );

            CREATE TABLE state_parts (
                name        text COLLATE "C" NOT NULL,
                chunk       integer NOT NULL,
                fingerprint text    NOT NULL,
                sequence    bigint  NOT NULL,
                written_at  bigint  NOT NULL,
                data        bytea   COMPRESSION lz4 NOT NULL,
                PRIMARY KEY (name, chunk)
            );

            CREATE TABLE shopper_results (
                user_id text COLLATE "C" NOT NULL PRIMARY KEY,
                data    bytea COMPRESSION lz4 NOT NULL
            );
            """),
        new(2, "named files (model versions shared by the nodes), stored in chunks",
            """
            CREATE TABLE files (
                name       text COLLATE "C" NOT NULL,
                chunk      integer NOT NULL,
                written_at bigint  NOT NULL,
                data       bytea   NOT NULL,
                PRIMARY KEY (name, chunk)
            );
            """),
        new(3, "the answer an event responds to: its request id and the item's place in it (docs/online-loop.md)",
            """
            ALTER TABLE events ADD COLUMN request_id text, ADD COLUMN position bigint;
            """),
    ];

    /// <summary>The version this build writes; a schema with a newer one is refused.</summary>
    internal static int CurrentVersion => Migrations[^1].Version;

    /// <summary>Creates the schema when missing and brings it up to <see cref="CurrentVersion"/>.</summary>
    internal static async Task MigrateAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // Nodes of a cluster start together: the first migrates, the others wait here and then find it done.
        await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock(hashtext('persona.migrate.{schema}'));", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction,
            $"""
            CREATE SCHEMA IF NOT EXISTS {schema};
            CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                version     integer NOT NULL PRIMARY KEY,
                description text    NOT NULL,
                applied_at  bigint  NOT NULL
            );
            """, cancellationToken).ConfigureAwait(false);

        int applied;
        await using (var command = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {schema}.schema_migrations;", connection, transaction))
            applied = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);

        if (applied > CurrentVersion)
            throw new InvalidOperationException(
                $"Schema '{schema}' is at version {applied}, newer than this build understands ({CurrentVersion}). Upgrade Persona to open it.");

        foreach (var migration in Migrations)
        {
            if (migration.Version <= applied) continue;
            await ExecuteAsync(connection, transaction, $"SET LOCAL search_path TO {schema};\n{migration.Sql}", cancellationToken).ConfigureAwait(false);
            await using var record = new NpgsqlCommand(
                $"INSERT INTO {schema}.schema_migrations (version, description, applied_at) VALUES ($1, $2, $3);", connection, transaction);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = migration.Version });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Description });
            record.Parameters.Add(new NpgsqlParameter<long> { TypedValue = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
