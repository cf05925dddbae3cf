using Microsoft.Data.Sqlite;

namespace Persona.Storage.Sqlite;

/// <summary>
/// Versioned schema. Each migration runs once, inside the transaction that records it in
/// <c>schema_migrations</c>, so a crash mid-migration leaves the previous version intact. New versions are
/// appended to <see cref="Migrations"/>; shipped ones are never edited.
/// </summary>
internal static class SqliteSchema
{
    internal sealed record Migration(int Version, string Description, string Sql);

    internal static readonly Migration[] Migrations =
    [
        new(1, "events, items, users, profiles, documents",
            """
            CREATE TABLE events (
                sequence        INTEGER PRIMARY KEY,
                id              TEXT    NOT NULL UNIQUE,
                user_id         TEXT    NOT NULL,
                type            TEXT    NOT NULL,
                item_id         TEXT,
                query           TEXT,
                value           REAL,
                timestamp       INTEGER NOT NULL,
                received_at     INTEGER NOT NULL,
                session_id      TEXT,
                device          TEXT,
                channel         TEXT,
                excluded_reason TEXT
            );
            CREATE INDEX ix_events_user_sequence ON events (user_id, sequence);

            CREATE TABLE items (
                id         TEXT    NOT NULL PRIMARY KEY,
                json       TEXT    NOT NULL,
                stored_at  INTEGER NOT NULL
            );

            CREATE TABLE users (
                id         TEXT    NOT NULL PRIMARY KEY,
                json       TEXT    NOT NULL,
                stored_at  INTEGER NOT NULL
            );

            CREATE TABLE profiles (
                user_id    TEXT    NOT NULL PRIMARY KEY,
                version    INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                json       TEXT    NOT NULL,
                stored_at  INTEGER NOT NULL
            );

            CREATE TABLE documents (
                kind       TEXT    NOT NULL,
                key        TEXT    NOT NULL,
                json       TEXT    NOT NULL,
                stored_at  INTEGER NOT NULL,
                PRIMARY KEY (kind, key)
            ) WITHOUT ROWID;
            """),
        new(2, "audit log",
            """
            CREATE TABLE audit_log (
                sequence   INTEGER PRIMARY KEY,
                at         INTEGER NOT NULL,
                actor      TEXT    NOT NULL,
                action     TEXT    NOT NULL,
                target     TEXT    NOT NULL,
                detail     TEXT
            );
            """),
        new(3, "shopper state records and state checkpoints",
            """
            CREATE TABLE shopper_states (
                user_id          TEXT    NOT NULL PRIMARY KEY,
                through_sequence INTEGER NOT NULL,
                state            BLOB    NOT NULL
            );

            CREATE TABLE state_checkpoints (
                part        TEXT    NOT NULL PRIMARY KEY,
                fingerprint TEXT    NOT NULL,
                sequence    INTEGER NOT NULL,
                written_at  INTEGER NOT NULL,
                data        BLOB
            );
            """),
        new(4, "state parts (aggregates over many shoppers), stored in chunks",
            """
            CREATE TABLE state_parts (
                name        TEXT    NOT NULL,
                chunk       INTEGER NOT NULL,
                fingerprint TEXT    NOT NULL,
                sequence    INTEGER NOT NULL,
                written_at  INTEGER NOT NULL,
                data        BLOB    NOT NULL,
                PRIMARY KEY (name, chunk)
            );
            """),
        new(5, "the newest event time of each shopper record beside it, so a start can leave shoppers cold unread",
            """
            ALTER TABLE shopper_states ADD COLUMN latest_ticks INTEGER;
            """),
        // The added column sits after the record, so reading it from the table walks each record's overflow pages:
        // at a million shoppers that was most of a restart. The heads are read from this index alone.
        new(6, "an index that holds each shopper record's head (sequence, newest event time) apart from the record",
            """
            CREATE INDEX shopper_state_heads ON shopper_states (user_id, through_sequence, latest_ticks);
            """),
        // The results of a model refresh were two JSON documents holding every shopper: 12 s to parse at a million, and
        // rewritten whole by each erasure. One row per shopper instead.
        new(7, "each shopper's results of the last model refresh (predictions, segment, map point) in a row of its own",
            """
            CREATE TABLE shopper_results (
                user_id TEXT NOT NULL PRIMARY KEY,
                data    BLOB NOT NULL
            ) WITHOUT ROWID;
            """),
        // A rowid table numbers a new row max + 1: erasing the newest shopper's events freed their sequences, the next
        // events took them again, and a checkpoint written before the erasure then claimed to cover those new events,
        // so a restart skipped them.
        new(8, "the highest event sequence ever given, so a sequence an erasure frees is never given again",
            """
            CREATE TABLE event_sequence (
                id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
                highest INTEGER NOT NULL
            );
            INSERT INTO event_sequence (id, highest) SELECT 1, coalesce(max(sequence), 0) FROM events;
            """),
        new(9, "named files (model versions shared by the nodes of a cluster), stored in chunks",
            """
            CREATE TABLE files (
                name       TEXT    NOT NULL,
                chunk      INTEGER NOT NULL,
                written_at INTEGER NOT NULL,
                data       BLOB    NOT NULL,
                PRIMARY KEY (name, chunk)
            ) WITHOUT ROWID;
            """),
        new(10, "the answer an event responds to: its request id and the item's place in it (docs/online-loop.md)",
            """
            ALTER TABLE events ADD COLUMN request_id TEXT;
            ALTER TABLE events ADD COLUMN position INTEGER;
            """),
    ];

    /// <summary>The version this build writes; a file with a newer one is refused.</summary>
    internal static int CurrentVersion => Migrations[^1].Version;

    /// <summary>Brings the database up to <see cref="CurrentVersion"/>; a no-op when it is already there.</summary>
    internal static void Migrate(SqliteConnection connection)
    {
        // IMMEDIATE: two processes starting on one file serialise here instead of both applying version 1.
        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(connection, transaction,
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     INTEGER NOT NULL PRIMARY KEY,
                description TEXT    NOT NULL,
                applied_at  INTEGER NOT NULL
            );
            """);

        var applied = 0;
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT coalesce(max(version), 0) FROM schema_migrations;";
            applied = Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        if (applied > CurrentVersion)
            throw new InvalidOperationException(
                $"The database has schema version {applied}, newer than the {CurrentVersion} this build knows; "
                + "upgrade Persona before opening it.");

        foreach (var migration in Migrations)
        {
            if (migration.Version <= applied) continue;
            Execute(connection, transaction, migration.Sql);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText =
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES ($version, $description, $appliedAt);";
            record.Parameters.AddWithValue("$version", migration.Version);
            record.Parameters.AddWithValue("$description", migration.Description);
            record.Parameters.AddWithValue("$appliedAt", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            record.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
