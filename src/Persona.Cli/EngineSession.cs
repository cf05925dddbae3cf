using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Persona.Hosting;
using Persona.Hosting.Privacy;
using Persona.Core.Models.Sequence;
using Persona.Storage.Sqlite;
using Spectre.Console;

namespace Persona.Cli;

/// <summary>Opens the store and the engine over a data folder for a one-shot command, with a progress bar.</summary>
internal static class EngineSession
{
    /// <remarks>
    /// The pseudonymisation key comes from the environment, as for <c>persona serve</c>:
    /// <c>Persona__Privacy__PseudonymKeyFile</c> or <c>PERSONA_PSEUDONYM_KEY</c>. A key that is unusable or does not
    /// fit the data folder, or (unless <paramref name="create"/>) a folder without a store, is reported on
    /// <paramref name="error"/> (standard error by default) in one line, and the result is null: the command then exits 2,
    /// having created nothing.
    /// </remarks>
    public static async Task<PersonaEngine?> OpenAsync(
        DirectoryInfo data, bool quiet, CancellationToken cancellationToken, bool create = false, TextWriter? error = null)
    {
        error ??= Console.Error;
        if (!create && !RequireStore(data, error)) return null;
        var options = new PersonaOptions { DataDirectory = data.FullName, Privacy = PrivacyFromEnvironment() };
        PersonaEngine engine;
        try
        {
            engine = new PersonaEngine(new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = data.FullName }),
                Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        }
        catch (PseudonymisationException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return null;
        }
        try
        {
            if (quiet || Console.IsErrorRedirected) await engine.StartAsync(progress: null, cancellationToken);
            else await Progress.RunAsync(async progress => await engine.StartAsync(progress, cancellationToken));
            return engine;
        }
        catch (PseudonymisationException ex)
        {
            await engine.DisposeAsync();
            await error.WriteLineAsync(ex.Message);
            return null;
        }
    }

    /// <summary>
    /// The search service the server would run over this folder: the sequence model in service and the stored text
    /// encoder, trained (and stored for next time) only when none fits the catalog. Loaded even when the store holds
    /// no items; the caller decides what that means.
    /// </summary>
    public static async Task<SearchService> OpenSearchAsync(
        PersonaEngine engine, DirectoryInfo data, PersonaSearchOptions options, bool quiet, TextWriter error, CancellationToken cancellationToken)
    {
        var search = new SearchService(engine, Microsoft.Extensions.Options.Options.Create(options), SequenceModels(data, error), NullLogger<SearchService>.Instance);
        try
        {
            await search.LoadAsync(cancellationToken);
            if (search.Index.Count > 0 && search.NeedsTraining)
            {
                if (quiet) await search.TrainAsync(cancellationToken);
                else await AnsiConsole.Status().StartAsync("Training the text encoder (no stored one fits this catalog; it is kept for next time)…", _ => search.TrainAsync(cancellationToken));
            }
            return search;
        }
        catch
        {
            search.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The sequence model in service for a data folder, as the server loads it (the newest complete version under
    /// <c>DATA/models/sequence</c>); null, with a note on <paramref name="error"/> when one exists but cannot be read.
    /// </summary>
    public static SequenceModelRepository? SequenceModels(DirectoryInfo data, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(error);
        var repository = SequenceModelRepository.ForDataDirectory(data.FullName);
        try
        {
            repository.Refresh();
            return repository;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            error.WriteLine($"The sequence model in {repository.Root} could not be read ({ex.Message}); going on without it.");
            return null;
        }
    }

    /// <summary>A Spectre console over the command's standard output (the terminal's own when that is the console).</summary>
    public static IAnsiConsole Terminal(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var output = parse.InvocationConfiguration.Output;
        if (ReferenceEquals(output, Console.Out)) return AnsiConsole.Console;
        // Another writer (a caller capturing the output): plain text, wide enough not to wrap a line of the report.
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 240;
        return console;
    }

    /// <summary>Whether <paramref name="data"/> holds a store (<c>persona.db</c>); looks without creating anything.</summary>
    public static bool StoreExists(DirectoryInfo data) => File.Exists(Path.Combine(data.FullName, SqliteStoreOptions.DefaultFileName));

    /// <summary>True when <paramref name="data"/> holds a store; otherwise says so on <paramref name="error"/>, naming the folder.</summary>
    public static bool RequireStore(DirectoryInfo data, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(error);
        if (StoreExists(data)) return true;
        var what = Directory.Exists(data.FullName) ? $"{data.FullName} holds no Persona store (no {SqliteStoreOptions.DefaultFileName})" : $"{data.FullName} does not exist";
        error.WriteLine($"No store: {what}. Create one with `persona demo --data {data.FullName}` or `persona import --data {data.FullName} ...`, or pass --data with a folder that holds one (default {Commands.CommonOptions.DefaultDataDirectory}).");
        return false;
    }

    /// <summary>The <c>Persona:Privacy</c> settings from environment variables.</summary>
    public static PersonaPrivacyOptions PrivacyFromEnvironment()
    {
        var privacy = new PersonaPrivacyOptions();
        new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(PersonaPrivacyOptions.SectionName).Bind(privacy);
        privacy.ApplyEnvironment();
        return privacy;
    }

}

/// <summary>Spectre progress bars over <see cref="WorkProgress"/> reports.</summary>
internal static class Progress
{
    public static async Task RunAsync(Func<IProgress<WorkProgress>, Task> work)
    {
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                var reporter = new SynchronousProgress<WorkProgress>(p =>
                {
                    if (!tasks.TryGetValue(p.Stage, out var task))
                        tasks[p.Stage] = task = context.AddTask(Markup.Escape(p.Stage), maxValue: Math.Max(1, p.Total));
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                });
                await work(reporter);
                foreach (var task in tasks.Values) task.Value = task.MaxValue;
            });
    }

    /// <summary>Reports inline (no SynchronizationContext hop), so the bar is current when work ends.</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
