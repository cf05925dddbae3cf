using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core;
using Persona.Core.Models.Segments;
using Persona.Hosting;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary>
/// The results of a model refresh kept as one row per shopper (schema v7): a restart serves exactly what the refresh
/// made, and results stored before it (two JSON documents holding every shopper) are read once and moved to rows.
/// </summary>
public sealed class ModelResultsStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "persona-results-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private async Task<(PersonaEngine Engine, PersonaModels Models)> OpenAsync()
    {
        var engine = new PersonaEngine(new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _dir }),
            Options.Create(new PersonaOptions { DataDirectory = _dir }), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        await engine.StartAsync(null, CancellationToken.None);
        return (engine, new PersonaModels(engine, Options.Create(new PersonaModelOptions { MinUsersToTrain = 10 })));
    }

    [Fact]
    public async Task Refresh_ThenRestart_ServesTheSameResultsToEveryShopper()
    {
        var (engine, models) = await OpenAsync();
        await AudienceShopFactory.SeedAsync(engine);
        var summary = await models.RefreshAsync(CancellationToken.None);
        Assert.NotNull(summary.SegmentModel);
        var users = engine.ProfileUsers.ToList();
        var before = users.ToDictionary(u => u, u => JsonSerializer.Serialize(engine.GetProfile(u).Profile, PersonaJson.Options), StringComparer.Ordinal);
        Assert.Contains(users, u => models.Results.MembershipOf(u) is not null);
        await engine.DisposeAsync();

        var (restarted, reloaded) = await OpenAsync();
        await using (restarted)
        {
            Assert.True(await reloaded.LoadAsync(CancellationToken.None));
            Assert.Equal(summary.SegmentModel, reloaded.Segments!.Version);
            Assert.Equal(models.Results.Count, reloaded.Results.Count);
            foreach (var user in users)
                Assert.Equal(before[user], JsonSerializer.Serialize(restarted.GetProfile(user).Profile, PersonaJson.Options));
            // The documents are small: no member is listed in them.
            var segmentsJson = await restarted.Store.GetDocumentAsync(PersonaModels.DocumentKind, "segments");
            Assert.DoesNotContain(users[0], segmentsJson!, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ResultsStoredAsDocuments_AreReadOnceAndMovedToRows()
    {
        var (engine, models) = await OpenAsync();
        await using (engine)
        {
            var at = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
            var predictions = new Dictionary<string, Predictions>(StringComparer.Ordinal)
            {
                ["u1"] = new() { ModelVersion = "propensity-old", ComputedAt = at, PurchasePropensity = 0.25, ChurnRisk = 0.5, CategoryPropensity = new Dictionary<string, double> { ["美妆"] = 0.125 } },
                ["u2"] = new() { ModelVersion = "propensity-old", ComputedAt = at, PurchasePropensity = 0.0625 },
            };
            var segments = new SegmentModel
            {
                Version = "segments-old",
                ComputedAt = at,
                K = 2,
                Features = ["monetary"],
                Segments = [new SegmentInfo("seg-1", "Big spenders", "高价值", 2, 0.6667, new Dictionary<string, double>()), new SegmentInfo("seg-2", "Browsers", "浏览者", 1, 0.3333, new Dictionary<string, double>())],
                Members = new Dictionary<string, SegmentMembership>
                {
                    ["u1"] = new("seg-1", "Big spenders", "高价值", 0.5),
                    ["u2"] = new("seg-1", "Big spenders", "高价值", 1.25),
                    ["u3"] = new("seg-2", "Browsers", "浏览者", 0.75),
                },
                Projection = [new("u1", "seg-1", 0.1, -0.2), new("u2", "seg-1", 1.5, 2), new("u3", "seg-2", -3, 0)],
            };
            await engine.Store.PutDocumentAsync(PersonaModels.DocumentKind, "predictions", JsonSerializer.Serialize(predictions, PersonaJson.Options));
            await engine.Store.PutDocumentAsync(PersonaModels.DocumentKind, "segments", JsonSerializer.Serialize(segments, PersonaJson.Options));

            Assert.True(await models.LoadAsync(CancellationToken.None));

            Assert.Equal(0.25, models.Results.PredictionsOf("u1")!.PurchasePropensity);
            Assert.Equal(0.125, models.Results.PredictionsOf("u1")!.CategoryPropensity["美妆"]);
            Assert.Equal("propensity-old", models.Results.PredictionsOf("u2")!.ModelVersion);
            Assert.Null(models.Results.PredictionsOf("u3"));
            Assert.Equal(new SegmentMembership("seg-2", "Browsers", "浏览者", 0.75), models.Results.MembershipOf("u3"));
            Assert.Equal(segments.Projection, models.Segments!.Projection);
            Assert.Null(await engine.Store.GetDocumentAsync(PersonaModels.DocumentKind, "predictions"));
            var rows = new List<ShopperResultRecord>();
            await foreach (var row in engine.Store.ReadShopperResultsAsync()) rows.Add(row);
            Assert.Equal(["u1", "u2", "u3"], rows.Select(r => r.UserId).Order());

            // The next load reads the rows.
            var again = new PersonaModels(engine, Options.Create(new PersonaModelOptions()));
            Assert.True(await again.LoadAsync(CancellationToken.None));
            Assert.Equal(models.Results.MembershipOf("u2"), again.Results.MembershipOf("u2"));
            Assert.Equal(0.5, again.Results.PredictionsOf("u1")!.ChurnRisk);
        }
    }
}
