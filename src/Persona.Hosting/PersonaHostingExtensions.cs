using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Storage.Sqlite;

namespace Persona.Hosting;

public static class PersonaHostingExtensions
{
    /// <summary>
    /// Adds the Persona engine over the embedded SQLite store, bound to the <c>Persona</c> configuration
    /// section, validated at start-up, loaded before the host starts serving and flushed on the way out.
    /// An engine already registered (e.g. by the CLI, which opened it to import) is reused.
    /// </summary>
    public static IHostApplicationBuilder AddPersona(this IHostApplicationBuilder builder, Action<PersonaOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var optionsBuilder = builder.Services.AddOptions<PersonaOptions>()
            .Bind(builder.Configuration.GetSection(PersonaOptions.SectionName))
            .ValidateOnStart();
        if (configure is not null) optionsBuilder.Configure(configure);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PersonaOptions>, PersonaOptionsValidator>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<IPersonaStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PersonaOptions>>().Value;
            return new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = options.DataDirectory });
        });
        builder.Services.TryAddSingleton<PersonaEngine>();
        builder.Services.AddHostedService<PersonaEngineService>();
        builder.AddPersonaModels();
        builder.AddPersonaSequenceModel();
        builder.AddPersonaRecommendations();
        builder.AddPersonaSearch();
        return builder;
    }
}

/// <summary>Loads the engine before requests are served, writes changed profiles periodically, and flushes on stop.</summary>
internal sealed class PersonaEngineService(PersonaEngine engine, IOptions<PersonaOptions> options, Microsoft.Extensions.Logging.ILogger<PersonaEngineService> logger)
    : IHostedService, IAsyncDisposable
{
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await engine.StartAsync(progress: null, cancellationToken);
        _stopping = new CancellationTokenSource();
        _loop = FlushLoopAsync(_stopping.Token);
    }

    private async Task FlushLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.SnapshotIntervalSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    await engine.FlushProfilesAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Microsoft.Extensions.Logging.LoggerExtensions.LogError(logger, ex, "Writing profile snapshots failed; will retry");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Under a test host the app can be stopped twice, the second time after disposal: nothing is left to do then.
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        if (_stopping is not null) await _stopping.CancelAsync();
        if (_loop is not null) await _loop;
        try
        {
            await engine.FlushProfilesAsync(cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            // A second stop path (an app whose Main runs RunAsync, under a test host that also stops it) disposed the
            // engine meanwhile; disposing flushed the profiles first.
        }
    }

    public ValueTask DisposeAsync()
    {
        // Disposal without a stop (or racing one) cancels the loop first; the token source itself holds no handle.
        if (Interlocked.Exchange(ref _stopped, 1) == 0) _stopping?.Cancel();
        return ValueTask.CompletedTask;
    }

    private int _stopped;
}
