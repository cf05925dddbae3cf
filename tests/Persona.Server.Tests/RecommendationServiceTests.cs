using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Models.Sequence;
using Persona.Core.Ranking;
using Persona.Hosting;
using Persona.Hosting.Recommendations;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary>The recommendation service over a real engine and store: load order, the answer cache and its invalidation.</summary>
public sealed class RecommendationServiceTests
{
    private static readonly string[] Leaves = ["Lipstick", "Nail Polish", "Shampoo"];

    /// <summary>12 items in three leaves; users u0..u9 viewed a lipstick, then a nail polish.</summary>
    private sealed class Shop : IAsyncDisposable
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "persona-recs", Guid.NewGuid().ToString("n"));

        public PersonaEngine Engine { get; private set; } = null!;

        public static async Task<Shop> OpenAsync()
        {
            var shop = new Shop();
            await shop.InitializeAsync();
            return shop;
        }

        private async Task InitializeAsync()
        {
        var store = new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _directory });
        Engine = new PersonaEngine(store, Options.Create(new PersonaOptions { DataDirectory = _directory }), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        await Engine.StartAsync(null, CancellationToken.None);
        var items = new List<Item>();
        for (var c = 0; c < Leaves.Length; c++)
            for (var i = 0; i < 4; i++)
                items.Add(new Item { Id = $"{c}-{i}", Title = $"{Leaves[c]} {i}", CategoryPath = ["Beauty", Leaves[c]], Price = 10 + i });
        Assert.Empty(await Engine.UpsertItemsAsync(items, CancellationToken.None));
        var events = new List<Event>();
        for (var u = 0; u < 10; u++)
        {
            events.Add(Event($"u{u}", "0-0", u * 2));
            events.Add(Event($"u{u}", "1-0", u * 2 + 1));
        }
        Assert.Empty((await Engine.IngestEventsAsync(events, CancellationToken.None)).Errors);
        }

        public async ValueTask DisposeAsync()
        {
            await Engine.DisposeAsync();
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Recommend_ProfileReadBeforeLoad_ModelStillIndexesTheWholeCatalog()
    {
        await using var shop = await Shop.OpenAsync();
        var engine = shop.Engine;
        var service = new RecommendationService(engine, Options.Create(new RecommendationOptions()), new FixedModel(new LeafModel()));
        // A profile read (the enricher) before the catalog is loaded must not leave an empty index behind for the model.
        Assert.Equal(ProfileStatus.Found, engine.GetProfile("u1").Status);
        await service.LoadAsync(CancellationToken.None);

        var list = service.Recommend("u1", new RecommendationQuery { Count = 3, ExcludeSeen = true });

        Assert.Equal("leaf-1", list.ModelVersion);
        Assert.Contains(list.Items, r => r.Sources.Contains(RecommendationSources.Model));
    }

    [Fact]
    public async Task Recommend_Cached_SameAnswerUntilTheUsersOwnEventChangesIt()
    {
        await using var shop = await Shop.OpenAsync();
        var engine = shop.Engine;
        var service = await LoadedAsync(engine, cacheSeconds: 3600);
        var query = new RecommendationQuery { Count = 3 };

        var first = service.Recommend("u1", query);
        Assert.Same(first, service.Recommend("u1", query));
        Assert.NotSame(first, service.Recommend("u1", query with { Count = 2 }));

        Assert.Empty((await engine.IngestEventsAsync([Event("u1", "2-3", 100, EventType.Purchase)], CancellationToken.None)).Errors);
        var after = service.Recommend("u1", query);

        Assert.NotSame(first, after);
        Assert.NotEqual(first.Items.Select(i => i.ItemId), after.Items.Select(i => i.ItemId));
    }

    [Fact]
    public async Task Recommend_Cached_ItemMadeUnavailableDisappearsAtOnce()
    {
        await using var shop = await Shop.OpenAsync();
        var engine = shop.Engine;
        var service = await LoadedAsync(engine, cacheSeconds: 3600);
        var query = new RecommendationQuery { Count = 12 };
        var shown = service.Recommend("u1", query).Items[0].ItemId;

        var item = (await engine.GetItemAsync(shown, CancellationToken.None))!;
        Assert.Empty(await engine.UpsertItemsAsync([item with { Available = false }], CancellationToken.None));

        Assert.DoesNotContain(service.Recommend("u1", query).Items, r => r.ItemId == shown);
    }

    [Fact]
    public async Task Recommend_ConsentWithdrawnAfterCaching_NotPersonalisedNextTime()
    {
        await using var shop = await Shop.OpenAsync();
        var engine = shop.Engine;
        var service = await LoadedAsync(engine, cacheSeconds: 3600);
        var query = new RecommendationQuery { Count = 3 };
        Assert.True(service.Recommend("u1", query).Personalized);

        Assert.Empty(await engine.UpsertUsersAsync([new User { Id = "u1", Consent = new Consent { Personalization = false } }], CancellationToken.None));

        var list = service.Recommend("u1", query);
        Assert.False(list.Personalized);
        Assert.Equal("u1", list.UserId);
    }

    [Fact]
    public async Task Erase_CachedAnswer_RemovedAndCountedInTheReceipt()
    {
        await using var shop = await Shop.OpenAsync();
        var engine = shop.Engine;
        var service = await LoadedAsync(engine, cacheSeconds: 3600);
        service.Recommend("u2", new RecommendationQuery { Count = 3 });

        var receipt = await engine.EraseUserAsync("u2", "test", CancellationToken.None);

        Assert.NotNull(receipt);
        Assert.Contains(receipt.Removed, r => r.Contains("1 cached answers", StringComparison.Ordinal));
        var after = service.Recommend("u2", new RecommendationQuery { Count = 3 });
        Assert.False(after.Personalized);
    }

    [Fact]
    public async Task Warm_AfterLoad_ActiveUsersDefaultListsAreCachedAndEqualAFreshComputation()
    {
        await using var shop = await Shop.OpenAsync();
        var engine = shop.Engine;
        var warmed = new RecommendationService(engine, Options.Create(new RecommendationOptions { CacheSeconds = 3600 }));
        await warmed.LoadAsync(CancellationToken.None);
        await warmed.Warming;

        Assert.Equal(10, warmed.CachedUsers);
        var cold = await LoadedAsync(engine, cacheSeconds: 0);
        var query = new RecommendationQuery { Count = RecommendationOptions.DefaultCount };
        foreach (var user in Enumerable.Range(0, 10).Select(u => $"u{u}"))
            Assert.Equal(cold.Recommend(user, query).Items.Select(i => (i.ItemId, i.Score)), warmed.Recommend(user, query).Items.Select(i => (i.ItemId, i.Score)));
    }

    [Fact]
    public async Task Recommend_NewUserWithOnlyAttributes_PopularAmongTheirAgeGroupFirstWithThatReason()
    {
        await using var shop = await Shop.OpenAsync();
        var engine = shop.Engine;
        // Two shoppers aged 45-54 bought a shampoo; overall, the lipstick and nail polish viewed by u0..u9 lead.
        Assert.Empty(await engine.UpsertUsersAsync([new User { Id = "older-0", AgeBand = "45-54" }, new User { Id = "older-1", AgeBand = "45-54" }], CancellationToken.None));
        Assert.Empty((await engine.IngestEventsAsync([Event("older-0", "2-1", 30, EventType.Purchase), Event("older-1", "2-1", 31, EventType.Purchase)], CancellationToken.None)).Errors);
        var service = await LoadedAsync(engine, cacheSeconds: 3600);
        var query = new RecommendationQuery { Count = 3 };
        Assert.False(service.Recommend("stranger", query).Personalized);
        Assert.NotEqual("2-1", service.Recommend("stranger", query).Items[0].ItemId);

        // A newcomer known only by a user record (sent after the service loaded).
        Assert.Empty(await engine.UpsertUsersAsync([new User { Id = "newcomer", AgeBand = "45-54", Region = "North" }], CancellationToken.None));
        var list = service.Recommend("newcomer", query);

        Assert.True(list.Personalized);
        var first = list.Items[0];
        Assert.Equal("2-1", first.ItemId);
        Assert.Equal(RecommendationSources.Segment, first.Sources[0]);
        Assert.Equal("Popular with shoppers like you (age 45-54)", first.Reason.En);
        Assert.Equal("与你相似的顾客（年龄段45-54）常买", first.Reason.Zh);
    }

    [Fact]
    public async Task Recommend_CacheOff_EveryCallComputes()
    {
        await using var shop = await Shop.OpenAsync();
        var engine = shop.Engine;
        var service = await LoadedAsync(engine, cacheSeconds: 0);
        var query = new RecommendationQuery { Count = 3 };
        var first = service.Recommend("u1", query);
        var second = service.Recommend("u1", query);
        Assert.NotSame(first, second);
        Assert.Equal(first.Items.Select(i => i.ItemId), second.Items.Select(i => i.ItemId));
    }

    private static async Task<RecommendationService> LoadedAsync(PersonaEngine engine, int cacheSeconds)
    {
        var service = new RecommendationService(engine, Options.Create(new RecommendationOptions { CacheSeconds = cacheSeconds, WarmUsers = 0 }));
        await service.LoadAsync(CancellationToken.None);
        return service;
    }

    private static Event Event(string user, string item, int minute, EventType type = EventType.View) => new()
    {
        Id = $"{user}-{item}-{minute}-{type}",
        UserId = user,
        ItemId = item,
        Type = type,
        Timestamp = DateTimeOffset.UtcNow.AddDays(-1).AddMinutes(minute),
    };

    [Fact]
    public async Task Recommend_AStoredModelVersionAsked_AnswersWithIt_AndTheOneInServiceOtherwise()
    {
        await using var shop = await Shop.OpenAsync();
        var shampoo = new ShampooModel();
        var loads = 0;
        var service = new RecommendationService(shop.Engine, Options.Create(new RecommendationOptions()), new FixedModel(new LeafModel()))
        {
            LoadModelVersion = version =>
            {
                loads++;
                return version == shampoo.Version ? shampoo : null;
            },
        };
        await service.LoadAsync(CancellationToken.None);
        var query = new RecommendationQuery { Count = 3, ExcludeSeen = true, Weights = new SourceWeights(1, 0, 0, 0, 0, 0) };

        var served = service.Recommend("u1", query);
        var pinned = service.Recommend("u1", query with { ModelVersion = shampoo.Version });
        var missing = service.Recommend("u1", query with { ModelVersion = "never-trained" });

        Assert.Equal("leaf-1", served.ModelVersion);
        Assert.Equal(shampoo.Version, pinned.ModelVersion);
        Assert.All(pinned.Items, r => Assert.StartsWith("2-", r.ItemId, StringComparison.Ordinal));
        Assert.NotEqual(served.Items.Select(r => r.ItemId), pinned.Items.Select(r => r.ItemId));
        Assert.Equal("leaf-1", missing.ModelVersion);
        // The pinned version is loaded once and kept.
        service.Recommend("u2", query with { ModelVersion = shampoo.Version });
        Assert.Equal(2, loads);
    }

    private sealed class FixedModel(ISequenceModel model) : ISequenceModelProvider
    {
        public ISequenceModel? Current => model;
    }

    /// <summary>A model whose every user leans to shampoo, whatever they did.</summary>
    private sealed class ShampooModel : ISequenceModel
    {
        public string Version => "shampoo-1";
        public int Dimension => Leaves.Length;

        public float[]? EncodeUser(IReadOnlyList<SequenceStep> steps) => [0, 0, 1];

        public float[]? ItemVector(Item item) => new LeafModel().ItemVector(item);
    }

    /// <summary>Item vector = one-hot of the leaf category; user = sum of their items' vectors.</summary>
    private sealed class LeafModel : ISequenceModel
    {
        public string Version => "leaf-1";
        public int Dimension => Leaves.Length;

        public float[]? EncodeUser(IReadOnlyList<SequenceStep> steps)
        {
            var user = new float[Dimension];
            foreach (var step in steps)
                if (ItemVector(step.Item) is { } v)
                    for (var d = 0; d < Dimension; d++) user[d] += v[d];
            return user;
        }

        public float[]? ItemVector(Item item)
        {
            var leaf = item.CategoryPath.Count == 0 ? -1 : Array.IndexOf(Leaves, item.CategoryPath[^1]);
            if (leaf < 0) return null;
            var vector = new float[Dimension];
            vector[leaf] = 1;
            return vector;
        }
    }
}
