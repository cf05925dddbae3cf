using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Persona.Hosting;
using Persona.Hosting.Privacy;
using Persona.Storage.Sqlite;
using Spectre.Console;

namespace Persona.Cli;

/// <summary>Opens the store and the engine over a data folder for a one-shot command, with a progress bar.</summary>
internal static class EngineSession
{
    /// <remarks>
    /// The pseudonymisation key comes from the environment, as for <c>persona serve</c>:
    /// <c>Persona__Privacy__PseudonymKeyFile</c> or <c>PERSONA_PSEUDONYM_KEY</c>. A key that is unusable or does not
    /// fit the data folder ends the process with exit code 2 and the reason, not a stack trace.
    /// </remarks>
    public static async Task<PersonaEngine> OpenAsync(DirectoryInfo data, bool quiet, CancellationToken cancellationToken)
    {
        var options = new PersonaOptions { DataDirectory = data.FullName, Privacy = PrivacyFromEnvironment() };
        PersonaEngine engine;
        try
        {
            engine = new PersonaEngine(new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = data.FullName }),
                Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        }
        catch (PseudonymisationException ex)
        {
            return Refuse(ex);
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
            return Refuse(ex);
        }
    }

    /// <summary>The <c>Persona:Privacy</c> settings from environment variables.</summary>
    public static PersonaPrivacyOptions PrivacyFromEnvironment()
    {
        var privacy = new PersonaPrivacyOptions();
        new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(PersonaPrivacyOptions.SectionName).Bind(privacy);
        privacy.ApplyEnvironment();
        return privacy;
    }

    private static PersonaEngine Refuse(PseudonymisationException ex)
    {
        Console.Error.WriteLine(ex.Message);
        Environment.Exit(2);
        throw new UnreachableException();
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
