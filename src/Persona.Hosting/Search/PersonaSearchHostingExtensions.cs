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
        var optionsBuilder = builder.Services.AddOptions<PersonaSearchOptions>()
            .Bind(builder.Configuration.GetSection(PersonaSearchOptions.SectionName))
            .ValidateOnStart();
        if (configure is not null) optionsBuilder.Configure(configure);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PersonaSearchOptions>, PersonaSearchOptionsValidator>());
        builder.Services.TryAddSingleton(sp => new SearchService(
            sp.GetRequiredService<PersonaEngine>(),
            sp.GetRequiredService<IOptions<PersonaSearchOptions>>(),
            sp.GetService<ISequenceModelProvider>(),
            sp.GetService<ILogger<SearchService>>()));
        builder.Services.AddHostedService<SearchStartupService>();
        return builder;
    }
}

/// <summary>
/// Indexes the catalog before requests are served (the engine is already loaded); trains in the background at start
/// and again every <see cref="PersonaSearchOptions.RetrainIntervalMinutes"/> when the catalog has grown.
/// </summary>
internal sealed partial class SearchStartupService(SearchService search, IOptions<PersonaSearchOptions> options, ILogger<SearchStartupService> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _training;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await search.LoadAsync(cancellationToken);
        _training = Task.Run(() => LoopAsync(_stopping.Token), CancellationToken.None);
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        var interval = options.Value.RetrainIntervalMinutes;
        using var timer = interval > 0 ? new PeriodicTimer(TimeSpan.FromMinutes(interval)) : null;
        try
        {
            await TrainAsync(cancellationToken);
            while (timer is not null && await timer.WaitForNextTickAsync(cancellationToken))
                if (search.NeedsTraining) await TrainAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task TrainAsync(CancellationToken cancellationToken)
    {
        try
        {
            await search.TrainAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogTrainingFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Training the search encoder failed; search stays lexical until the next try")]
    private static partial void LogTrainingFailed(ILogger logger, Exception ex);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A second stop after disposal (a test host racing the app's own RunAsync) has nothing left to do.
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        await _stopping.CancelAsync();
        if (_training is not null) await _training.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0) _stopping.Cancel();
    }

    private int _stopped;
}
