using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Persona.Hosting;

public static class PersonaModelsHostingExtensions
{
    /// <summary>
    /// Adds predictions, segments and audiences: <see cref="PersonaModels"/> (bound to <c>Persona:Models</c>),
    /// <see cref="AudienceService"/>, and the hosted service that loads stored results and refreshes them on
    /// a schedule. Called by <c>AddPersona</c>.
    /// </summary>
    public static IHostApplicationBuilder AddPersonaModels(this IHostApplicationBuilder builder, Action<PersonaModelOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var optionsBuilder = builder.Services.AddOptions<PersonaModelOptions>()
            .Bind(builder.Configuration.GetSection(PersonaModelOptions.SectionName))
            .ValidateOnStart();
        if (configure is not null) optionsBuilder.Configure(configure);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PersonaModelOptions>, PersonaModelOptionsValidator>());
        builder.Services.TryAddSingleton<PersonaModels>();
        builder.Services.TryAddSingleton<AudienceService>();
        builder.Services.AddHostedService<ModelRefreshService>();
        return builder;
    }
}

/// <summary>
/// Loads the last stored predictions and segments once the engine is up, refreshes when there are none,
/// then every <see cref="PersonaModelOptions.RefreshIntervalMinutes"/>. Refreshing runs in the background:
/// start-up never waits for training.
/// </summary>
internal sealed partial class ModelRefreshService(PersonaModels models, AudienceService audiences, ILogger<ModelRefreshService> logger) : IHostedService, IDisposable
{
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Stored audiences list members: an erasure must rewrite them even if no audience request came yet.
        models.Engine.AddUserDataOwner(audiences);
        var loaded = await models.LoadAsync(cancellationToken);
        _stopping = new CancellationTokenSource();
        _loop = Task.Run(() => LoopAsync(refreshNow: !loaded && models.Options.RefreshOnStart, _stopping.Token), CancellationToken.None);
    }

    private async Task LoopAsync(bool refreshNow, CancellationToken cancellationToken)
    {
        var interval = models.Options.RefreshIntervalMinutes;
        using var timer = interval > 0 ? new PeriodicTimer(TimeSpan.FromMinutes(interval)) : null;
        try
        {
            if (refreshNow) await RefreshAsync(cancellationToken);
            while (timer is not null && await timer.WaitForNextTickAsync(cancellationToken)) await RefreshAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            await models.RefreshAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRefreshFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Refreshing predictions and segments failed; will retry on the next tick")]
    private static partial void LogRefreshFailed(ILogger logger, Exception ex);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A second stop after disposal (a test host racing the app's own RunAsync) has nothing left to do.
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        if (_stopping is not null) await _stopping.CancelAsync();
        if (_loop is not null) await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0) _stopping?.Cancel();
    }

    private int _stopped;
}
