using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Models;
using Persona.Core.Models.Sequence;

namespace Persona.Hosting;

public static class SequenceModelHostingExtensions
{
    /// <summary>How often the server looks for a newer trained sequence model in <c>DATA/models/sequence</c>.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Serves the sequence model the data folder's serving pointer names (the newest, in a folder from before the
    /// pointer), and picks up a change — a new model that passed the gate, a promotion, a rollback — without a restart;
    /// retrains it in the server when <c>Persona:Training</c> says so (<see cref="PersonaTrainingOptions"/>, off by
    /// default). Registered before recommendations, which use it through <see cref="ISequenceModelProvider"/>.
    /// </summary>
    public static IHostApplicationBuilder AddPersonaSequenceModel(this IHostApplicationBuilder builder, Action<PersonaTrainingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddValidatedOptions<PersonaTrainingOptions, PersonaTrainingOptionsValidator>(PersonaTrainingOptions.SectionName, configure);
        builder.Services.TryAddSingleton(sp => SequenceModelRepository.ForDataDirectory(sp.GetRequiredService<IOptions<PersonaOptions>>().Value.DataDirectory));
        builder.Services.TryAddSingleton<ISequenceModelProvider>(sp => sp.GetRequiredService<SequenceModelRepository>());
        builder.Services.TryAddSingleton<SequenceModelService>();
        builder.Services.TryAddSingleton<SequenceTrainingService>();
        builder.Services.AddHostedService<SequenceModelWatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SequenceTrainingService>());
        return builder;
    }
}

/// <summary>
/// Loads the serving model at start, then checks the serving pointer every
/// <see cref="SequenceModelHostingExtensions.PollInterval"/>; with a shared store, first copies the newest version any
/// node published there and the pointer stored there (with the version it names) into this node's folder
/// (docs/cluster.md), so every node serves what the last decision chose.
/// </summary>
internal sealed partial class SequenceModelWatcher(
    SequenceModelRepository repository, SequenceModelService models, IPersonaStore store, IOptions<PersonaOptions> options, ILogger<SequenceModelWatcher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(SequenceModelHostingExtensions.PollInterval);
        try
        {
            do
            {
                try
                {
                    if (options.Value.Store.IsShared
                        && await StoredModelFiles.PullNewestAsync(store, repository.Root, StoredModelFiles.SequencePrefix, stoppingToken) is { } pulled)
                        LogPulled(logger, pulled);
                    await models.SyncAsync(stoppingToken);
                    if (repository.Refresh()) LogLoaded(logger, repository.Current!.Version);
                }
                catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or System.Text.Json.JsonException
                    or System.Data.Common.DbException or InvalidOperationException)
                {
                    LogLoadFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sequence model {Version} copied from the store")]
    private static partial void LogPulled(ILogger logger, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving sequence model {Version}")]
    private static partial void LogLoaded(ILogger logger, string version);

    [LoggerMessage(Level = LogLevel.Error, Message = "Loading the serving sequence model failed; the previous one keeps serving")]
    private static partial void LogLoadFailed(ILogger logger, Exception ex);
}
