using System.CommandLine;
using System.CommandLine.Invocation;
using Persona.Hosting;

namespace Persona.Cli;

/// <summary>
/// The store a command works on: <c>--store</c>, <c>--store-connection</c> and <c>--store-schema</c> on any command,
/// else the environment (<c>Persona__Store__*</c>), else the data folder's SQLite file. The flags hold for the one
/// invocation (an async-local value), so commands run side by side in one process (as tests do) do not see each other's.
/// </summary>
internal static class StoreChoice
{
    private static readonly AsyncLocal<PersonaStoreOptions?> Chosen = new();

    public static readonly Option<string?> Provider = new("--store")
    {
        Description = $"Where the data is: {PersonaStoreOptions.Sqlite} (the data folder's file, the default) or {PersonaStoreOptions.Postgres} (with --store-connection); overrides Persona__Store__Provider.",
        Recursive = true,
    };

    public static readonly Option<string?> Connection = new("--store-connection")
    {
        Description = "With --store postgres: an Npgsql connection string (Host=…;Username=…;Password=…;Database=…); overrides Persona__Store__ConnectionString.",
        Recursive = true,
    };

    public static readonly Option<string?> Schema = new("--store-schema")
    {
        Description = $"With --store postgres: the schema holding the tables (default {Storage.Postgres.PostgresStoreOptions.DefaultSchema}); overrides Persona__Store__Schema.",
        Recursive = true,
    };

    /// <summary>The store of this invocation: the flags over the environment.</summary>
    public static PersonaStoreOptions Current() => Chosen.Value ?? PersonaStoreOptions.FromEnvironment();

    /// <summary>The choice as settings for a host or a child process's command line (empty when nothing was chosen by flag).</summary>
    public static IReadOnlyList<string> AsSettings() => Chosen.Value is { } store
        ?
        [
            $"--Persona:Store:Provider={store.Provider}",
            .. store.ConnectionString is { } connection ? [$"--Persona:Store:ConnectionString={connection}"] : Array.Empty<string>(),
            $"--Persona:Store:Schema={store.Schema}",
        ]
        : [];

    /// <summary>The choice as environment variables for a child <c>persona</c> process (empty when nothing was chosen by flag).</summary>
    public static IReadOnlyDictionary<string, string> AsEnvironment() => Chosen.Value is { } store
        ? new Dictionary<string, string>
        {
            ["Persona__Store__Provider"] = store.Provider,
            ["Persona__Store__ConnectionString"] = store.ConnectionString ?? "",
            ["Persona__Store__Schema"] = store.Schema,
        }
        : new Dictionary<string, string>();

    /// <summary>Adds the flags to <paramref name="root"/> and makes every asynchronous command honour them.</summary>
    public static void AddTo(RootCommand root)
    {
        root.Add(Provider);
        root.Add(Connection);
        root.Add(Schema);
        Wrap(root);
    }

    private static void Wrap(Command command)
    {
        if (command.Action is AsynchronousCommandLineAction action) command.Action = new WithChosenStore(action);
        foreach (var sub in command.Subcommands) Wrap(sub);
    }

    private sealed class WithChosenStore(AsynchronousCommandLineAction inner) : AsynchronousCommandLineAction
    {
        public override async Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken = default)
        {
            var provider = parseResult.GetValue(Provider);
            var connection = parseResult.GetValue(Connection);
            var schema = parseResult.GetValue(Schema);
            if (provider is null && connection is null && schema is null) return await inner.InvokeAsync(parseResult, cancellationToken);
            var store = PersonaStoreOptions.FromEnvironment();
            if (provider is not null) store.Provider = provider;
            if (connection is not null) store.ConnectionString = connection;
            if (schema is not null) store.Schema = schema;
            Chosen.Value = store;
            try
            {
                return await inner.InvokeAsync(parseResult, cancellationToken);
            }
            finally
            {
                Chosen.Value = null;
            }
        }
    }
}
