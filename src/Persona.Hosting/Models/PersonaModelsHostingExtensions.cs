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
        builder.AddValidatedOptions<PersonaModelOptions, PersonaModelOptionsValidator>(PersonaModelOptions.SectionName, configure);
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
internal sealed partial class ModelRefreshService(PersonaModels models, AudienceService audiences, ILogger<ModelRefreshService> logger) : PeriodicWorkService
{
    protected override async Task<bool> LoadAsync(CancellationToken cancellationToken)
    {
        // Stored audiences list members: an erasure must rewrite them even if no audience request came yet.
        models.Engine.AddUserDataOwner(audiences);
        var loaded = await models.LoadAsync(cancellationToken);
        return !loaded && models.Options.RefreshOnStart;
    }

    protected override TimeSpan? Interval =>
        models.Options.RefreshIntervalMinutes > 0 ? TimeSpan.FromMinutes(models.Options.RefreshIntervalMinutes) : null;

    protected override Task RunAsync(CancellationToken cancellationToken) => models.RefreshAsync(cancellationToken);

    protected override void OnFailed(Exception exception) => LogRefreshFailed(logger, exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Refreshing predictions and segments failed; will retry on the next tick")]
    private static partial void LogRefreshFailed(ILogger logger, Exception ex);
}
