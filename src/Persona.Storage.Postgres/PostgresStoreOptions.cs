using System.Text.RegularExpressions;
using Npgsql;

namespace Persona.Storage.Postgres;

/// <summary>Where the PostgreSQL store keeps its tables: a server, a database and a schema in it.</summary>
public sealed partial class PostgresStoreOptions
{
    public const string DefaultSchema = "persona";
    /// <summary>
    /// Connections one node keeps at most, unless the connection string says (<c>Maximum Pool Size=…</c>): nodes × this must
    /// stay under the server's <c>max_connections</c> (100 by default), with room for other clients.
    /// </summary>
    public const int DefaultMaxPoolSize = 25;

    public const int DefaultReadPageSize = 10_000;
    public const int DefaultCommandTimeoutSeconds = 300;

    /// <summary>
    /// An Npgsql connection string, e.g. <c>Host=127.0.0.1;Username=persona;Password=persona;Database=persona</c>.
    /// Its <c>Search Path</c>, if any, is replaced by <see cref="Schema"/>.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The schema holding Persona's tables; created when missing. Several shops (or tests) can share a database, one schema each.</summary>
    public string Schema { get; set; } = DefaultSchema;

    /// <summary>Rows fetched per page by the streaming readers of the event log and the JSON tables.</summary>
    public int ReadPageSize { get; set; } = DefaultReadPageSize;

    /// <summary>How long one statement may run; a bulk append of a large chunk or an erasure of a busy shopper is the longest.</summary>
    public int CommandTimeoutSeconds { get; set; } = DefaultCommandTimeoutSeconds;

    /// <summary>Returns what is wrong with the options; empty when they are usable.</summary>
    public static IReadOnlyList<string> Validate(PostgresStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
            errors.Add($"{nameof(ConnectionString)} is required (e.g. Host=127.0.0.1;Username=persona;Password=persona;Database=persona).");
        else
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                errors.Add($"{nameof(ConnectionString)} is not a valid connection string: {ex.Message}");
            }
        }
        if (string.IsNullOrEmpty(options.Schema) || !SchemaName().IsMatch(options.Schema))
            errors.Add($"{nameof(Schema)} must be a lower-case SQL name of letters, digits and underscores, at most 63 long (was '{options.Schema}').");
        if (options.ReadPageSize < 1)
            errors.Add($"{nameof(ReadPageSize)} must be at least 1 (was {options.ReadPageSize}).");
        if (options.CommandTimeoutSeconds < 0)
            errors.Add($"{nameof(CommandTimeoutSeconds)} must be zero (no limit) or more (was {options.CommandTimeoutSeconds}).");
        return errors;
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();
}
