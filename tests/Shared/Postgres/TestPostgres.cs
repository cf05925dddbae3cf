using Npgsql;

namespace Persona.Storage.Postgres.Testing;

/// <summary>
/// The real PostgreSQL server the tests use: <c>PERSONA_TEST_POSTGRES</c>, or the one <c>scripts/services.sh</c> starts
/// on loopback. Each test works in a schema of its own and drops it afterwards.
/// </summary>
public static class TestPostgres
{
    public const string DefaultConnectionString = "Host=127.0.0.1;Port=5432;Username=persona;Password=persona;Database=persona;Timeout=5";

    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("PERSONA_TEST_POSTGRES") is { Length: > 0 } configured ? configured : DefaultConnectionString;

    /// <summary>A fresh schema name, unique to one test.</summary>
    public static string NewSchema() => "t_" + Guid.NewGuid().ToString("N");

    public static PostgresStoreOptions Options(string schema, int readPageSize = PostgresStoreOptions.DefaultReadPageSize) =>
        new() { ConnectionString = ConnectionString, Schema = schema, ReadPageSize = readPageSize };

    /// <summary>The settings that make a server (or <c>persona</c> command) keep its data in <paramref name="schema"/>.</summary>
    public static IReadOnlyList<string> ServerSettings(string schema) =>
    [
        "--Persona:Store:Provider=postgres",
        $"--Persona:Store:ConnectionString={ConnectionString}",
        $"--Persona:Store:Schema={schema}",
    ];

    /// <summary>Opens a connection, saying how to start the server when none answers.</summary>
    public static async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        try
        {
            await connection.OpenAsync();
            return connection;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            await connection.DisposeAsync();
            throw new InvalidOperationException(
                $"No PostgreSQL server answers at {new NpgsqlConnectionStringBuilder(ConnectionString) { Password = null }}: run scripts/services.sh " +
                "(it installs and starts one on loopback; .ci/run does), or point PERSONA_TEST_POSTGRES at one.", ex);
        }
    }

    public static async Task DropSchemaAsync(string schema)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE;", connection);
        await command.ExecuteNonQueryAsync();
    }
}
