using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Persona.Abstractions;
using Persona.Storage.Postgres;
using Persona.Storage.Sqlite;

namespace Persona.Hosting;

/// <summary>
/// The <c>Persona:Store</c> section: which store holds the data. <c>sqlite</c> (default): the embedded file in
/// <see cref="PersonaOptions.DataDirectory"/>. <c>postgres</c>: a PostgreSQL database shared by every node of a cluster
/// (docs/cluster.md); the data folder then keeps only what a node caches (models, search vectors).
/// </summary>
public sealed class PersonaStoreOptions
{
    public const string SectionName = "Persona:Store";
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    public string Provider { get; set; } = Sqlite;

    /// <summary>For <c>postgres</c>: an Npgsql connection string (<c>Host=…;Username=…;Password=…;Database=…</c>).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>For <c>postgres</c>: the schema holding Persona's tables, created when missing.</summary>
    public string Schema { get; set; } = PostgresStoreOptions.DefaultSchema;

    /// <summary>Whether other nodes may share the store: model versions are then published to it and pulled from it (docs/cluster.md).</summary>
    public bool IsShared => Provider != Sqlite;

    internal PostgresStoreOptions PostgresOptions => new() { ConnectionString = ConnectionString ?? "", Schema = Schema };

    public IReadOnlyList<string> Validate() => Provider switch
    {
        Sqlite => [],
        Postgres => PostgresStoreOptions.Validate(PostgresOptions),
        _ => [$"Provider must be '{Sqlite}' or '{Postgres}', not '{Provider}'."],
    };

    /// <summary>The section as environment variables set it (<c>Persona__Store__Provider=postgres</c>, …), for the one-shot CLI commands.</summary>
    public static PersonaStoreOptions FromEnvironment()
    {
        var options = new PersonaStoreOptions();
        new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(SectionName).Bind(options);
        return options;
    }
}

/// <summary>Opens the store <see cref="PersonaOptions.Store"/> names.</summary>
public static class PersonaStores
{
    /// <summary>A new, not yet initialised store.</summary>
    public static IPersonaStore Create(PersonaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Store.Validate();
        if (problems.Count > 0) throw new ArgumentException("Persona:Store: " + string.Join(" ", problems), nameof(options));
        // Whatever the store, the data folder holds what this node keeps beside it (models, search vectors, reports).
        Directory.CreateDirectory(options.DataDirectory);
        return options.Store.Provider == PersonaStoreOptions.Postgres
            ? new PostgresPersonaStore(options.Store.PostgresOptions)
            : new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = options.DataDirectory });
    }

    /// <summary>Where the data is, for messages: the SQLite file, or the server, database and schema (never the password).</summary>
    public static string Describe(PersonaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Store.Provider == PersonaStoreOptions.Postgres
            ? PostgresPersonaStore.Describe(options.Store.PostgresOptions)
            : Path.Combine(options.DataDirectory, SqliteStoreOptions.DefaultFileName);
    }

    /// <summary>Whether the store already exists (the SQLite file, or the schema's tables); creates nothing.</summary>
    public static Task<bool> ExistsAsync(PersonaOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Store.Provider == PersonaStoreOptions.Postgres
            ? PostgresPersonaStore.ExistsAsync(options.Store.PostgresOptions, cancellationToken)
            : Task.FromResult(File.Exists(Path.Combine(options.DataDirectory, SqliteStoreOptions.DefaultFileName)));
    }

    /// <summary>Keeps the data in the embedded SQLite file of the data folder (the default); wins over configuration.</summary>
    public static IHostApplicationBuilder UseSqlite(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.PostConfigure<PersonaOptions>(o => o.Store = new PersonaStoreOptions { Provider = PersonaStoreOptions.Sqlite });
        return builder;
    }

    /// <summary>Keeps the data in PostgreSQL (<paramref name="schema"/> in the database of <paramref name="connectionString"/>); wins over configuration.</summary>
    public static IHostApplicationBuilder UsePostgres(this IHostApplicationBuilder builder, string connectionString, string schema = PostgresStoreOptions.DefaultSchema)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        builder.Services.PostConfigure<PersonaOptions>(o =>
            o.Store = new PersonaStoreOptions { Provider = PersonaStoreOptions.Postgres, ConnectionString = connectionString, Schema = schema });
        return builder;
    }
}
