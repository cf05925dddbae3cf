using Microsoft.Extensions.Logging.Abstractions;
using Persona.Hosting;
using Persona.Storage.Sqlite;
using Spectre.Console;

namespace Persona.Cli;

/// <summary>Opens the store and the engine over a data folder for a one-shot command, with a progress bar.</summary>
internal static class EngineSession
{
    public static async Task<PersonaEngine> OpenAsync(DirectoryInfo data, bool quiet, CancellationToken cancellationToken)
    {
        var options = new PersonaOptions { DataDirectory = data.FullName };
        var store = new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = data.FullName });
        var engine = new PersonaEngine(store, Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        if (quiet || Console.IsErrorRedirected)
        {
            await engine.StartAsync(progress: null, cancellationToken);
            return engine;
        }
        await Progress.RunAsync(async progress => await engine.StartAsync(progress, cancellationToken));
        return engine;
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
