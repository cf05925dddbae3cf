using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Core.Ranking;
using Persona.Hosting;
using Persona.Hosting.Recommendations;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary>
/// An engine with recommendations and search registered before it starts, as <c>persona serve</c> composes them, so
/// its start pass restores and feeds their state parts. Caches and warm-up are off so every answer is computed.
/// </summary>
internal sealed record PartsStack(PersonaEngine Engine, RecommendationService Recommendations, SearchService Search) : IAsyncDisposable
{
    public static async Task<PartsStack> OpenAsync(string dir, StateOptions? state = null)
    {
        var options = new PersonaOptions { DataDirectory = dir, State = state ?? new StateOptions() };
        var engine = new PersonaEngine(new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = dir }),
            Options.Create(options), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        var recommendations = new RecommendationService(engine, Options.Create(new RecommendationOptions { WarmUsers = 0, CacheSeconds = 0 }));
        var search = new SearchService(engine, Options.Create(new PersonaSearchOptions { Semantic = false, PersistEncoder = false, WarmUsers = 0, UserCacheSeconds = 0 }));
        await engine.StartAsync(null, CancellationToken.None);
        await recommendations.LoadAsync(CancellationToken.None);
        await search.LoadAsync(CancellationToken.None);
        return new PartsStack(engine, recommendations, search);
    }

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        Search.Dispose();
    }
}
