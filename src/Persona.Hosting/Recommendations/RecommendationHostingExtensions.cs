using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Persona.Core.Models.Sequence;
using Persona.Core.Ranking;
using Persona.Hosting.Recommendations;

namespace Persona.Hosting;

public static class RecommendationHostingExtensions
{
    /// <summary>
    /// Adds <see cref="RecommendationService"/> (options bound to <c>Persona:Recommendations</c>, validated at
    /// start) and the hosted service that loads its state once the engine is up. A registered
    /// <see cref="ISequenceModelProvider"/> is used when present; without one, recommendations come from
    /// co-occurrence, popularity and profile affinities. Similar items also take text neighbours from the
    /// <see cref="SearchService"/> when one is registered.
    /// </summary>
    public static IHostApplicationBuilder AddPersonaRecommendations(this IHostApplicationBuilder builder, Action<RecommendationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddValidatedOptions<RecommendationOptions, RecommendationOptionsValidator>(RecommendationOptions.SectionName, configure);
        builder.Services.TryAddSingleton(sp => new RecommendationService(
            sp.GetRequiredService<PersonaEngine>(),
            sp.GetRequiredService<IOptions<RecommendationOptions>>(),
            sp.GetService<ISequenceModelProvider>(),
            sp.GetService<ILogger<RecommendationService>>())
        {
            // Resolved when asked, so neither service's construction (and engine registration) order depends on the other.
            TextNeighbours = () => sp.GetService<SearchService>()?.TextNeighbours,
            LoadModelVersion = sp.GetService<SequenceModelRepository>() is { } repository
                ? version => repository.HasVersion(version) ? repository.Load(version) : null
                : null,
        });
        // Known to the engine's start pass, which restores and feeds it with the shopper states (docs/state.md).
        builder.Services.AddSingleton<IStatePartObserver>(sp => sp.GetRequiredService<RecommendationService>());
        builder.Services.AddHostedService<RecommendationLoader>();
        return builder;
    }
}

public sealed class RecommendationOptionsValidator : IValidateOptions<RecommendationOptions>
{
    public ValidateOptionsResult Validate(string? name, RecommendationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        return problems.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(problems.Select(p => $"{RecommendationOptions.SectionName}: {p}"));
    }
}

/// <summary>Loads the recommendation state after the engine has started (it is registered after the engine's service).</summary>
internal sealed class RecommendationLoader(RecommendationService service) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => service.LoadAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
