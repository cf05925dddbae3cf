using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Core.Import;
using Persona.Hosting;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary>Imports the shared public data sets end to end through the engine; skipped when they are absent.</summary>
public sealed class DatasetImportTests
{
    private static async Task<(PersonaEngine Engine, string Directory)> OpenEngineAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "persona-import", Guid.NewGuid().ToString("n"));
        var store = new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = dir });
        var engine = new PersonaEngine(store, Options.Create(new PersonaOptions { DataDirectory = dir }), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        await engine.StartAsync(null, CancellationToken.None);
        return (engine, dir);
    }

    [DatasetFact("amazon-beauty")]
    public async Task Import_AmazonBeauty_StoresEveryInteractionAndBuildsProfiles()
    {
        var path = SharedDatasets.PathOf("amazon-beauty");
        var (engine, dir) = await OpenEngineAsync();
        try
        {
            var reader = new AmazonBeautyReader(path);
            var items = await FileImporter.ImportItemsAsync(engine, reader.ReadItemsAsync, null, CancellationToken.None);
            var events = await FileImporter.ImportEventsAsync(engine, reader.ReadEventsAsync, null, CancellationToken.None);

            var stats = await engine.GetStatsAsync(CancellationToken.None);
            Assert.Equal(12_101, items);
            Assert.Equal(198_502, events);
            Assert.Equal(198_502, stats.Events);
            Assert.Equal(22_363, stats.Profiles);
            var profile = engine.GetProfile("1").Profile!;
            Assert.NotEmpty(profile.Affinities.Categories);
            Assert.Contains(profile.Affinities.Categories.First(a => a.Level == 1).LabelEn, AmazonBeautyReader.RootCategories);
        }
        finally
        {
            await engine.DisposeAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    [DatasetFact("taobao-userbehavior")]
    public async Task Import_TaobaoUserBehavior_MapsBehavioursAndStoresEveryRow()
    {
        var path = SharedDatasets.PathOf("taobao-userbehavior");
        var (engine, dir) = await OpenEngineAsync();
        try
        {
            var reader = new TaobaoUserBehaviorReader(Path.Combine(path, "UserBehavior_timeslice_110k.csv"));
            await FileImporter.ImportItemsAsync(engine, reader.ReadItemsAsync, null, CancellationToken.None);
            var events = await FileImporter.ImportEventsAsync(engine, reader.ReadEventsAsync, null, CancellationToken.None);

            Assert.Equal(110_300, events);
            var stored = await engine.GetStatsAsync(CancellationToken.None);
            Assert.InRange(stored.Events, 100_000, 110_300);
            var types = new HashSet<Persona.Abstractions.EventType>();
            await foreach (var e in engine.Store.ReadEventsAsync(0)) types.Add(e.Type);
            Assert.Equal([Persona.Abstractions.EventType.View, Persona.Abstractions.EventType.AddToCart, Persona.Abstractions.EventType.Favorite, Persona.Abstractions.EventType.Purchase], types.Order().ToArray());
        }
        finally
        {
            await engine.DisposeAsync();
            Directory.Delete(dir, recursive: true);
        }
    }
}
