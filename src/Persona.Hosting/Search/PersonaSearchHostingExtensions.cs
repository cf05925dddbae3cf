using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Persona.Core.Models.Sequence;

namespace Persona.Hosting;

public static class PersonaSearchHostingExtensions
{
    /// <summary>
    /// Adds personalised product search: <see cref="SearchService"/> (bound to <c>Persona:Search</c>) and the hosted
    /// service that indexes the stored catalog at start and trains the encoder in the background. Uses the
    /// <see cref="ISequenceModelProvider"/> when one is registered. Called by <c>AddPersona</c>.
    /// </summary>
    public static IHostApplicationBuilder AddPersonaSearch(this IHostApplicationBuilder builder, Action<PersonaSearchOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddValidatedOptions<PersonaSearchOptions, PersonaSearchOptionsValidator>(PersonaSearchOptions.SectionName, configure);
        builder.AddValidatedOptions<PersonaTextOptions, PersonaTextOptionsValidator>(PersonaTextOptions.SectionName, configure: null);
        builder.Services.TryAddSingleton(sp => new SearchService(
            sp.GetRequiredService<PersonaEngine>(),
            sp.GetRequiredService<IOptions<PersonaSearchOptions>>(),
            sp.GetService<ISequenceModelProvider>(),
            sp.GetService<ILogger<SearchService>>(),
            sp.GetRequiredService<IOptions<PersonaTextOptions>>().Value.OpenPretrained(sp.GetRequiredService<PersonaEngine>().Options.DataDirectory)));
        // Known to the engine's start pass, which restores and feeds it with the shopper states (docs/state.md).
        builder.Services.AddSingleton<IStatePartObserver>(sp => sp.GetRequiredService<SearchService>());
        builder.Services.AddHostedService<SearchStartupService>();
        return builder;
    }
}

/// <summary>
/// Indexes the catalog before requests are served (the engine is already loaded) and loads the stored encoder that fits
/// it; trains in the background at start when none does, and again every <see cref="PersonaSearchOptions.RetrainIntervalMinutes"/> when the catalog has grown.
/// </summary>
internal sealed partial class SearchStartupService(SearchService search, IOptions<PersonaSearchOptions> options, ILogger<SearchStartupService> logger) : PeriodicWorkService
{
    protected override async Task<bool> LoadAsync(CancellationToken cancellationToken)
    {
        await search.LoadAsync(cancellationToken);
        return search.RestoredEncoder is null;
    }

    protected override TimeSpan? Interval =>
        options.Value.RetrainIntervalMinutes > 0 ? TimeSpan.FromMinutes(options.Value.RetrainIntervalMinutes) : null;

    protected override bool IsDue => search.NeedsTraining;

    protected override Task RunAsync(CancellationToken cancellationToken) => search.TrainAsync(cancellationToken);

    protected override void OnFailed(Exception exception) => LogTrainingFailed(logger, exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Training the search encoder failed; search stays lexical until the next try")]
    private static partial void LogTrainingFailed(ILogger logger, Exception ex);
}
