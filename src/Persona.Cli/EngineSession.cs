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
    /// having created nothing. <c>beforeStart</c> registers observers with the engine before its start pass (the state
    /// parts it should restore and feed).
    /// </remarks>
    public static async Task<PersonaEngine?> OpenAsync(
        DirectoryInfo data, bool quiet, CancellationToken cancellationToken, bool create = false, TextWriter? error = null,
        Action<PersonaEngine>? beforeStart = null)
    {
        error ??= Console.Error;
        if (!create && !await RequireStoreAsync(data, error, cancellationToken)) return null;
        var options = OptionsFor(data);
        options.Privacy = PrivacyFromEnvironment();
        if (options.Store.Validate() is { Count: > 0 } problems)
        {
            await error.WriteLineAsync("Persona:Store: " + string.Join(" ", problems));
            return null;
        }
        PersonaEngine engine;
        try
        {
            engine = new PersonaEngine(PersonaStores.Create(options),
                Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        }
        catch (PseudonymisationException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return null;
        }
        try
        {
            beforeStart?.Invoke(engine);
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
        catch (Exception ex) when (ex is System.Data.Common.DbException or System.Net.Sockets.SocketException or TimeoutException)
        {
            await engine.DisposeAsync();
            await error.WriteLineAsync($"Cannot reach the store, {PersonaStores.Describe(options)}: {ex.Message}");
            return null;
        }
    }

    /// <summary>
    /// The search service the server would run over this folder: the sequence model in service and the stored text
    /// encoder, trained (and stored for next time) only when none fits the catalog. Loaded even when the store holds
    /// no items; the caller decides what that means.
    /// </summary>
    /// <remarks>
    /// With <paramref name="pretrained"/> (which the service then owns) the catalog is encoded with it instead, reusing the
    /// vectors stored for that encoder version, as the server does.
    /// </remarks>
    public static async Task<SearchService> OpenSearchAsync(
        PersonaEngine engine, DirectoryInfo data, PersonaSearchOptions options, bool quiet, TextWriter error, CancellationToken cancellationToken,
        Persona.Text.ITextEncoder? pretrained = null)
    {
        var search = new SearchService(engine, Microsoft.Extensions.Options.Options.Create(options), SequenceModels(data, error), NullLogger<SearchService>.Instance, pretrained);
        try
        {
            await search.LoadAsync(cancellationToken);
            if (pretrained is not null && search.Index.Count > 0 && options.Semantic)
            {
                if (quiet) await search.TrainAsync(cancellationToken);
                else await AnsiConsole.Status().StartAsync($"Encoding the catalog with {pretrained.Kind} {pretrained.Version} (stored vectors of this version are reused)…", _ => search.TrainAsync(cancellationToken));
                await search.SavingVectors;
            }
            else if (search.Index.Count > 0 && search.NeedsTraining)
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

    /// <summary>
    /// The options of a one-shot command over <paramref name="data"/>: the store <c>--store</c> or the environment names
    /// (<see cref="StoreChoice"/>), else the folder's SQLite file.
    /// </summary>
    public static PersonaOptions OptionsFor(DirectoryInfo data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new PersonaOptions { DataDirectory = data.FullName, Store = StoreChoice.Current() };
    }

    /// <summary>
    /// True when the store of <paramref name="data"/> (<see cref="OptionsFor"/>) exists; otherwise says so on
    /// <paramref name="error"/>, naming the folder or the database, and creates nothing.
    /// </summary>
    public static async Task<bool> RequireStoreAsync(DirectoryInfo data, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(error);
        var options = OptionsFor(data);
        if (options.Store.Validate() is { Count: > 0 } problems)
        {
            await error.WriteLineAsync("Persona:Store: " + string.Join(" ", problems));
            return false;
        }
        string what;
        try
        {
            if (await PersonaStores.ExistsAsync(options, cancellationToken)) return true;
            what = options.Store.Provider == PersonaStoreOptions.Postgres
                ? $"{PersonaStores.Describe(options)} holds no Persona store"
                : Directory.Exists(data.FullName) ? $"{data.FullName} holds no Persona store (no {SqliteStoreOptions.DefaultFileName})" : $"{data.FullName} does not exist";
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or System.Net.Sockets.SocketException)
        {
            await error.WriteLineAsync($"No store: {PersonaStores.Describe(options)} cannot be reached ({ex.Message}).");
            return false;
        }
        await error.WriteLineAsync($"No store: {what}. Create one with `persona demo --data {data.FullName}` or `persona import --data {data.FullName} ...`, or pass --data with a folder that holds one (default {Commands.CommonOptions.DefaultDataDirectory}).");
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

/// <summary>Progress bars over <see cref="WorkProgress"/> reports: Spectre bars on a terminal, plain lines otherwise.</summary>
internal static class Progress
{
    public static Task RunAsync(Func<IProgress<WorkProgress>, Task> work) => RunAsync(work, AnsiConsole.Console);

    /// <summary>
    /// On <paramref name="writer"/> (standard error for imports, so standard output keeps only the result). When that is
    /// not a terminal, one plain line per stage every few seconds and at its end, with the rate.
    /// </summary>
    public static Task RunAsync(Func<IProgress<WorkProgress>, Task> work, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var terminal = ReferenceEquals(writer, Console.Error) ? !Console.IsErrorRedirected : ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;
        if (!terminal) return RunPlainAsync(work, writer);
        return RunAsync(work, AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) }));
    }

    private static async Task RunAsync(Func<IProgress<WorkProgress>, Task> work, IAnsiConsole console)
    {
        var rate = new RateColumn();
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), rate, new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                var reporter = new SynchronousProgress<WorkProgress>(p =>
                {
                    if (!tasks.TryGetValue(p.Stage, out var task))
                    {
                        tasks[p.Stage] = task = context.AddTask(Markup.Escape(p.Stage), maxValue: Math.Max(1, p.Total));
                        if (p.Unit is { } unit) rate.Units[task.Id] = unit;
                    }
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                });
                await work(reporter);
                foreach (var task in tasks.Values) task.Value = task.MaxValue;
            });
    }

    private static async Task RunPlainAsync(Func<IProgress<WorkProgress>, Task> work, TextWriter writer)
    {
        var stages = new Dictionary<string, PlainStage>();
        var holdAt = Environment.GetEnvironmentVariable(HoldAtStageVariable);
        var reporter = new SynchronousProgress<WorkProgress>(p =>
        {
            if (!stages.TryGetValue(p.Stage, out var stage)) stages[p.Stage] = stage = new PlainStage();
            if (stage.Written is { } written && stage.Clock.Elapsed - written < PlainEvery && p.Done < p.Total) return;
            stage.Written = stage.Clock.Elapsed;
            writer.WriteLine(PlainLine(p, stage.Clock.Elapsed));
            if (p.Stage == holdAt && p.Done > 0 && p.Done < p.Total)
            {
                writer.Flush();
                Thread.Sleep(Timeout.Infinite);
            }
        });
        await work(reporter);
    }

    private static readonly TimeSpan PlainEvery = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Crash tests only: the stage at whose first partial progress line the work stops and waits, so a SIGKILL sent on
    /// that line lands inside the stage however fast the machine is.
    /// </summary>
    internal const string HoldAtStageVariable = "PERSONA_TEST_HOLD_AT_STAGE";

    /// <summary>"Importing events: 1,200,000 / 2,000,000 events (60%), 310,000 events/s".</summary>
    internal static string PlainLine(WorkProgress p, TimeSpan elapsed)
    {
        var percent = p.Total > 0 ? 100.0 * p.Done / p.Total : 0;
        var rate = p.Done / Math.Max(elapsed.TotalSeconds, 1e-3);
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        return p.Unit switch
        {
            WorkProgress.Bytes => string.Create(culture, $"{p.Stage}: {p.Done / 1048576.0:N1} / {p.Total / 1048576.0:N1} MiB ({percent:0}%), {rate / 1048576.0:N1} MiB/s"),
            { } unit => string.Create(culture, $"{p.Stage}: {p.Done:N0} / {p.Total:N0} {unit} ({percent:0}%), {rate:N0} {unit}/s"),
            null => string.Create(culture, $"{p.Stage}: {percent:0}%"),
        };
    }

    private sealed class PlainStage
    {
        public System.Diagnostics.Stopwatch Clock { get; } = System.Diagnostics.Stopwatch.StartNew();
        public TimeSpan? Written { get; set; }
    }

    /// <summary>Units per second of a task counted in <see cref="WorkProgress.Unit"/> (events/s, MiB/s).</summary>
    private sealed class RateColumn : ProgressColumn
    {
        public System.Collections.Concurrent.ConcurrentDictionary<int, string> Units { get; } = new();

        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            var unit = Units.GetValueOrDefault(task.Id);
            var culture = System.Globalization.CultureInfo.InvariantCulture;
            var text = (unit, task.Speed) switch
            {
                (null, _) or (_, null) => "",
                (WorkProgress.Bytes, { } speed) => string.Create(culture, $"{speed / 1048576.0:N1} MiB/s"),
                (_, { } speed) => string.Create(culture, $"{speed:N0} {unit}/s"),
            };
            return new Spectre.Console.Text(text, Style.Plain);
        }
    }

    /// <summary>Reports inline (no SynchronizationContext hop), so the bar is current when work ends.</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
