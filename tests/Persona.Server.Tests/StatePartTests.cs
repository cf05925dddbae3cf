using Persona.Abstractions;
using Persona.Core.Ranking;
using Persona.Core.Search;
using Persona.Hosting;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary>
/// The state parts of recommendations and search (docs/state.md): restored from the store and fed the log's tail in
/// the engine's one start pass, they answer exactly as after a full replay, and an erasure drops them at once.
/// </summary>
public sealed class StatePartTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly DataFolder _folder = new("persona-parts");

    private Task<PartsStack> OpenAsync(int partIntervalSeconds = StateOptions.DefaultPartIntervalSeconds) =>
        PartsStack.OpenAsync(_folder.Path, new StateOptions { PartIntervalSeconds = partIntervalSeconds });

    private static List<Event> History(int seed, int count)
    {
        var random = new Random(seed);
        var types = new[] { EventType.View, EventType.Click, EventType.AddToCart, EventType.Favorite, EventType.Purchase, EventType.Search };
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var type = types[random.Next(types.Length)];
            return new Event
            {
                Id = $"p{seed}-{i}",
                UserId = "u" + random.Next(15),
                Type = type,
                ItemId = type == EventType.Search ? null : "i" + random.Next(12),
                Query = type == EventType.Search ? new[] { "red lipstick", "serum", "item" }[random.Next(3)] : null,
                Timestamp = Start.AddMinutes(i * 7 + random.Next(0, 5)),
            };
        })];
    }

    private static async Task SeedAsync(PersonaEngine engine) =>
        Assert.Empty(await engine.UpsertItemsAsync([.. Enumerable.Range(0, 12).Select(i => new Item
        {
            Id = "i" + i, Title = (i % 2 == 0 ? "red lipstick " : "hydrating serum ") + i, CategoryPath = ["Beauty", i % 2 == 0 ? "Lipstick" : "Skincare"],
            Brand = "b" + (i % 3), Price = 10 + i * 7,
        })], CancellationToken.None));

    private static async Task IngestAsync(PersonaEngine engine, List<Event> events)
    {
        var outcome = await engine.IngestEventsAsync(events, CancellationToken.None);
        Assert.True(outcome.Errors.Count == 0, string.Join("; ", outcome.Errors.Take(3)));
    }

    /// <summary>Everything the parts decide, as text: each shopper's recommendations and personalised search, and the item-side counts.</summary>
    private static List<string> Answers(PartsStack stack)
    {
        var answers = new List<string>();
        for (var u = 0; u < 16; u++)
        {
            var user = "u" + u;
            var list = stack.Recommendations.Recommend(user, new RecommendationQuery { Count = 8 });
            answers.Add($"rec {user}: {string.Join(", ", list.Items.Select(r => $"{r.ItemId}={r.Score:R}/{string.Join('+', r.Sources)}"))}");
            foreach (var query in new[] { "lipstick", "serum" })
            {
                var result = stack.Search.Search(new SearchRequest { Query = query, Limit = 6 }, user);
                answers.Add($"search {user} {query}: {result.Personalized} {string.Join(", ", result.Hits.Select(h => $"{h.Item.Id}={h.Score:R}"))}");
            }
        }
        for (var i = 0; i < 12; i++)
        {
            var item = "i" + i;
            answers.Add($"follow {item}: {string.Join(", ", stack.Recommendations.ItemPairs.Followers(item, 20).Select(f => $"{f.Id}={f.Score}"))} of {stack.Recommendations.ItemPairs.Total(item)}");
            answers.Add($"covisit {item}: {string.Join(", ", Enumerable.Range(0, 12).Select(j => stack.Search.ItemPairs.Similarity(item, "i" + j).ToString("R")))}");
        }
        answers.Add($"popular: {string.Join(", ", stack.Recommendations.Popularity.Top(null, 12).Select(p => $"{p.Id}={p.Score:R}"))}");
        answers.Add($"clicks: {stack.Search.Status.ClickPairs}");
        return answers;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Restart_PartsPlusTail_AnswerAsAFullReplay(int seed)
    {
        StatePart recommendationsPart, searchPart;
        List<string> before;
        await using (var stack = await OpenAsync())
        {
            await SeedAsync(stack.Engine);
            await IngestAsync(stack.Engine, History(seed, 400));
            await stack.Engine.CheckpointStateAsync(CancellationToken.None);
            recommendationsPart = (await stack.Engine.Store.ReadStatePartAsync("recommendations"))!;
            searchPart = (await stack.Engine.Store.ReadStatePartAsync("search"))!;
            Assert.Equal(400, recommendationsPart.Sequence);
            // The tail: events after the parts' checkpoint.
            await IngestAsync(stack.Engine, History(seed + 100, 60).Select(e => e with { Timestamp = e.Timestamp!.Value.AddDays(3) }).ToList());
            before = Answers(stack);
        }
        // As after a crash before the shutdown checkpoint: the stored parts are those of the first checkpoint.
        await using (var store = new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _folder.Path }))
        {
            await store.InitializeAsync();
            await store.WriteStatePartAsync(recommendationsPart);
            await store.WriteStatePartAsync(searchPart);
        }

        await using (var stack = await OpenAsync())
        {
            Assert.Equal(400, stack.Engine.LastPartRestores["recommendations"]);
            Assert.Equal(400, stack.Engine.LastPartRestores["search"]);
            Assert.Equal(before, Answers(stack));
        }

        await ExecuteAsync("DELETE FROM state_parts;");
        await using (var stack = await OpenAsync())
        {
            Assert.Equal(0, stack.Engine.LastPartRestores["recommendations"]);
            Assert.Equal(before, Answers(stack));
        }
    }

    [Fact]
    public async Task Restart_DamagedPart_IsRebuiltFromTheLog()
    {
        List<string> before;
        await using (var stack = await OpenAsync())
        {
            await SeedAsync(stack.Engine);
            await IngestAsync(stack.Engine, History(7, 300));
            before = Answers(stack);
        }
        await ExecuteAsync("UPDATE state_parts SET data = zeroblob(64) WHERE name = 'search';");
        await using (var stack = await OpenAsync())
        {
            Assert.Equal(300, stack.Engine.LastPartRestores["recommendations"]);
            Assert.Equal(0, stack.Engine.LastPartRestores["search"]);
            Assert.Equal(before, Answers(stack));
        }
    }

    [Fact]
    public async Task Erase_DropsThePartsAtOnce_AndTheNextCheckpointWritesThemWithoutTheShopper()
    {
        await using var stack = await OpenAsync();
        await SeedAsync(stack.Engine);
        await IngestAsync(stack.Engine, History(9, 300));
        await stack.Engine.CheckpointStateAsync(CancellationToken.None);
        Assert.NotNull(await stack.Engine.Store.ReadStatePartAsync("recommendations"));

        Assert.NotNull(await stack.Engine.EraseUserAsync("u4", "test", CancellationToken.None));
        foreach (var name in (string[])["item-pairs", "recommendations", "search"])
            Assert.Null(await stack.Engine.Store.ReadStatePartAsync(name));

        await stack.Engine.CheckpointStateAsync(CancellationToken.None);
        var pairs = await stack.Engine.Store.ReadStatePartAsync("item-pairs");
        Assert.NotNull(pairs);
        // The shopper's id is in no string table of the rewritten parts (the item pairs keep each shopper's last items).
        Assert.True(Contains(pairs.Data, "u5"u8));
        foreach (var name in (string[])["item-pairs", "recommendations", "search"])
            Assert.False(Contains((await stack.Engine.Store.ReadStatePartAsync(name))!.Data, "u4"u8), name);
    }

    /// <summary>
    /// Asked for only after the engine started (no start pass fed it), the item pairs read the log themselves, and
    /// batches stored while they read count once: they then equal the pairs a start pass builds from the same store.
    /// </summary>
    [Fact]
    public async Task ItemPairs_FirstUsedAfterTheStart_LoadTheLogAndTheBatchesStoredMeanwhile()
    {
        var options = new PersonaOptions { DataDirectory = _folder.Path };
        string Pairs(Persona.Core.Retrieval.ItemPairs pairs) => string.Join("; ", Enumerable.Range(0, 12).Select(i => "i" + i).Select(item =>
            $"{item} {pairs.Seen(item)} {pairs.Total(item)} {string.Join(",", pairs.Followers(item, 50).Select(f => $"{f.Id}={f.Score}"))}"));
        string late;
        var engine = new PersonaEngine(new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _folder.Path }),
            Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<PersonaEngine>.Instance);
        await using (engine)
        {
            await engine.StartAsync(null, CancellationToken.None);
            await SeedAsync(engine);
            await IngestAsync(engine, History(21, 400));
            Assert.Equal(0, engine.ItemPairs.Seen("i1"));
            var loading = engine.LoadItemPairsAsync(CancellationToken.None);
            var more = History(22, 300);
            foreach (var chunk in more.Chunk(30)) await IngestAsync(engine, [.. chunk]);
            await loading;
            Assert.Same(loading, engine.LoadItemPairsAsync(CancellationToken.None));
            late = Pairs(engine.ItemPairs);
            Assert.True(engine.ItemPairs.Shoppers > 0);
        }
        await using var stack = await OpenAsync();
        Assert.Equal(0, stack.Engine.LastPartRestores["item-pairs"]);
        Assert.Equal(late, Pairs(stack.Engine.ItemPairs));
    }

    [Fact]
    public async Task PeriodicCheckpoint_WritesPartsOncePerInterval_ShutdownAlways()
    {
        await using (var stack = await OpenAsync(partIntervalSeconds: 3600))
        {
            await SeedAsync(stack.Engine);
            await IngestAsync(stack.Engine, History(11, 200));
            // Built from the log at this start: due at once.
            await stack.Engine.CheckpointStateWhenDueAsync(CancellationToken.None);
            Assert.Equal(200, (await stack.Engine.Store.ReadStatePartAsync("search"))!.Sequence);
            await IngestAsync(stack.Engine, History(12, 50));
            await stack.Engine.CheckpointStateWhenDueAsync(CancellationToken.None);
            Assert.Equal(200, (await stack.Engine.Store.ReadStatePartAsync("search"))!.Sequence);
            // The shopper records do move with every periodic checkpoint.
            Assert.Equal(250, (await stack.Engine.Store.GetStateCheckpointAsync(PersonaEngine.ShopperStatePart))!.Sequence);
        }
        await using (var stack = await OpenAsync())
            Assert.Equal(250, stack.Engine.LastPartRestores["search"]);
    }

    private static bool Contains(byte[] data, ReadOnlySpan<byte> id)
    {
        // Strings are stored length-prefixed: look for the length byte and the bytes together.
        Span<byte> prefixed = stackalloc byte[id.Length + 1];
        prefixed[0] = (byte)id.Length;
        id.CopyTo(prefixed[1..]);
        return data.AsSpan().IndexOf(prefixed) >= 0;
    }

    private Task ExecuteAsync(string sql) => _folder.ExecuteAsync(sql);

    public void Dispose() => _folder.Dispose();
}
