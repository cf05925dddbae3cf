using Persona.Hosting.Generative;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Persona.Abstractions;

namespace Persona.Hosting;

public static class PersonaHostingExtensions
{
    /// <summary>
    /// Adds the Persona engine over the store <c>Persona:Store</c> names (the embedded SQLite file unless configured, or
    /// <see cref="PersonaStores.UsePostgres"/>), bound to the <c>Persona</c> configuration
    /// section, validated at start-up, loaded before the host starts serving and flushed on the way out.
    /// An engine already registered (e.g. by the CLI, which opened it to import) is reused.
    /// </summary>
    public static IHostApplicationBuilder AddPersona(this IHostApplicationBuilder builder, Action<PersonaOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var optionsBuilder = builder.AddValidatedOptions<PersonaOptions, PersonaOptionsValidator>(PersonaOptions.SectionName, configure);
        // The key may come from the environment rather than configuration files (PERSONA_PSEUDONYM_KEY).
        optionsBuilder.PostConfigure(o => o.Privacy.ApplyEnvironment());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<IPersonaStore>(sp => PersonaStores.Create(sp.GetRequiredService<IOptions<PersonaOptions>>().Value));
        builder.Services.TryAddSingleton<PersonaEngine>();
        builder.Services.AddHostedService<PersonaEngineService>();
        builder.AddPersonaModels();
        builder.AddPersonaSequenceModel();
        builder.AddPersonaRecommendations();
        builder.AddPersonaSearch();
        builder.AddPersonaOnline();
        builder.AddPersonaGenerative();
        builder.Services.TryAddSingleton<Cluster.IShopperCalls, Cluster.LocalShopperCalls>();
        builder.Services.AddHostedService<StartedHeapCompaction>();
        return builder;
    }
}

/// <summary>
/// Loads the engine before requests are served, writes changed profiles periodically, and flushes on stop. Takes the
/// state-part observers (recommendations, search) so they exist, registered with the engine, before its start pass.
/// </summary>
internal sealed partial class PersonaEngineService(
    PersonaEngine engine, IEnumerable<IStatePartObserver> parts, IOptions<PersonaOptions> options, ILogger<PersonaEngineService> logger)
    : PeriodicWorkService
{
    protected override async Task<bool> LoadAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(parts);
        await engine.StartAsync(progress: null, cancellationToken);
        return false;
    }

    protected override TimeSpan? Interval => TimeSpan.FromSeconds(options.Value.SnapshotIntervalSeconds);

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        await engine.FlushProfilesAsync(cancellationToken);
        await engine.CheckpointStateWhenDueAsync(cancellationToken);
    }

    protected override void OnFailed(Exception exception) => LogFlushFailed(logger, exception);

    protected override async Task OnStoppedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await engine.FlushProfilesAsync(cancellationToken);
            await engine.CheckpointStateAsync(cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            // The app's own RunAsync (under a test host that also stops it) disposed the engine meanwhile; disposing
            // flushed the profiles first.
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing profile snapshots failed; will retry")]
    private static partial void LogFlushFailed(ILogger logger, Exception ex);
}
