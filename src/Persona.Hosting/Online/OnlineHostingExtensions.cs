using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Persona.Hosting.Online;

namespace Persona.Hosting;

public static class OnlineHostingExtensions
{
    /// <summary>
    /// Adds the <see cref="OnlineLoop"/> (options bound to <c>Persona:Online</c>, validated at start), registered as a
    /// state part so the engine's start pass restores it and feeds it the log's tail.
    /// </summary>
    public static IHostApplicationBuilder AddPersonaOnline(this IHostApplicationBuilder builder, Action<OnlineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddValidatedOptions<OnlineOptions, OnlineOptionsValidator>(OnlineOptions.SectionName, configure);
        builder.Services.TryAddSingleton<OnlineLoop>();
        builder.Services.AddSingleton<IStatePartObserver>(sp => sp.GetRequiredService<OnlineLoop>());
        builder.Services.AddHostedService<OnlineLoader>();
        builder.Services.TryAddSingleton<ExperimentService>();
        builder.Services.TryAddSingleton<LearnedBlendService>();
        builder.Services.AddHostedService<ExperimentLoader>();
        return builder;
    }
}

public sealed class OnlineOptionsValidator : IValidateOptions<OnlineOptions>
{
    public ValidateOptionsResult Validate(string? name, OnlineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        return problems.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(problems.Select(p => $"{OnlineOptions.SectionName}: {p}"));
    }
}

/// <summary>
/// Reads the stored experiments once the engine is up, then again every <see cref="RefreshInterval"/>: in a cluster
/// another node may have started or stopped one.
/// </summary>
public sealed class ExperimentLoader(ExperimentService experiments) : BackgroundService
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(15);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await experiments.LoadAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RefreshInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await experiments.LoadAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The experiments held keep serving; the next tick reads again.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>Restores the online loop when it was registered after the engine's start pass (<see cref="OnlineLoop.LoadAsync"/>).</summary>
internal sealed class OnlineLoader(OnlineLoop online, PersonaEngine engine) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Loaded late, the loop is not among the parts the start pass collected: have the checkpoints write it.
        if (await online.LoadAsync(cancellationToken) is { } through) engine.AdoptLatePart(online, through);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
