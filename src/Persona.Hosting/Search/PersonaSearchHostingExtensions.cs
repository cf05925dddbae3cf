using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Persona.Core.Models.Sequence;
using Persona.Hosting.Generative;

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
        // Off (nothing sent) unless AddPersona registered a configured endpoint (Persona:Generative).
        builder.Services.TryAddSingleton(sp => new QueryRewriter(sp.GetService<GenerativeEndpoint>(), sp.GetService<ILogger<QueryRewriter>>()));
        builder.Services.AddHostedService<SearchStartupService>();
        builder.Services.AddHostedService<TextAdapterWatcher>();
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

/// <summary>
/// Serves new fine-tuned text adapters without a restart: with a pretrained encoder and <c>Persona:Text:Adapter = auto</c>,
/// every <see cref="PersonaTextOptions.AdapterPollSeconds"/> it reads the serving pointer under <c>DATA/models/text</c>,
/// and when it names another version opens the encoder with it and hands it to <see cref="SearchService.ReplacePretrainedAsync"/>.
/// </summary>
internal sealed partial class TextAdapterWatcher(SearchService search, PersonaEngine engine, IOptions<PersonaTextOptions> text, ILogger<TextAdapterWatcher> logger) : PeriodicWorkService
{
    private readonly TextAdapterRepository _repository = TextAdapterRepository.ForDataDirectory(engine.Options.DataDirectory);
    private string? _seen;

    protected override Task<bool> LoadAsync(CancellationToken cancellationToken)
    {
        // What the encoder opened at start followed.
        _seen = Pointer();
        return Task.FromResult(false);
    }

    protected override TimeSpan? Interval =>
        text.Value.FollowsServingAdapter && text.Value.AdapterPollSeconds > 0 ? TimeSpan.FromSeconds(text.Value.AdapterPollSeconds) : null;

    protected override bool IsDue => search.Pretrained is not null && Pointer() is var now && now != _seen;

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        var version = Pointer();
        var encoder = await Task.Run(() => text.Value.OpenPretrained(engine.Options.DataDirectory), cancellationToken);
        if (encoder is null) return;
        if (encoder.Version == search.Pretrained?.Version)
        {
            (encoder as IDisposable)?.Dispose();
        }
        else
        {
            await search.ReplacePretrainedAsync(encoder, cancellationToken);
            LogServing(logger, encoder.Kind, encoder.Version, version ?? "none");
        }
        _seen = version;
    }

    /// <summary>The serving pointer's version; the last one seen while it cannot be read (mid-write or a passing I/O error).</summary>
    private string? Pointer()
    {
        try
        {
            return _repository.ServingVersion();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return _seen;
        }
    }

    protected override void OnFailed(Exception exception) => LogFailed(logger, exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Search now serves the {Kind} text encoder {Version} (adapters {Adapter}), picked up without a restart")]
    private static partial void LogServing(ILogger logger, string kind, string version, string adapter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The new text adapters could not be put in service; the previous encoder goes on serving and the next check tries again")]
    private static partial void LogFailed(ILogger logger, Exception ex);
}
