using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Ranking;
using Persona.Core.Search;
using Persona.Hosting;

namespace Persona.Server.Tests;

/// <summary>
/// Hot and cold shoppers (docs/state.md): under a memory budget far below the shop's size, shoppers' states leave
/// memory once stored and are read back on first touch, and everything they decide (profile, recommendations,
/// personalised search) equals an engine that kept everyone in memory and replayed the whole log.
/// </summary>
public sealed class ColdShopperTests : IDisposable
{
    private const int Shoppers = 700;
    private static readonly DateTimeOffset Start = new(2025, 5, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly string[] Shelves = ["Lipstick", "Serum", "Shampoo", "Perfume"];
    private readonly DataFolder _reference = new("persona-hot");
    private readonly DataFolder _cold = new("persona-cold");

    private static List<Event> History(int seed, int count, int dayOffset)
    {
        var random = new Random(seed);
        var types = new[] { EventType.View, EventType.View, EventType.Click, EventType.AddToCart, EventType.Favorite, EventType.Purchase, EventType.Search };
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var type = types[random.Next(types.Length)];
            return new Event
            {
                Id = $"c{seed}-{i}",
                UserId = "s" + random.Next(Shoppers),
                Type = type,
                ItemId = type == EventType.Search ? null : "p" + random.Next(40),
                Query = type == EventType.Search ? Shelves[random.Next(Shelves.Length)].ToLowerInvariant() : null,
                Timestamp = Start.AddDays(dayOffset).AddMinutes(i * 3 + random.Next(0, 3)),
                Device = random.Next(3) == 0 ? "mobile" : "desktop",
            };
        })];
    }

    private static async Task FillAsync(PersonaEngine engine) =>
        Assert.Empty(await engine.UpsertItemsAsync([.. Enumerable.Range(0, 40).Select(i => new Item
        {
            Id = "p" + i, Title = $"{Shelves[i % 4].ToLowerInvariant()} no. {i}", CategoryPath = ["Beauty", Shelves[i % 4]],
            Brand = "brand" + (i % 5), Price = 5 + i * 3,
        })], CancellationToken.None));

    private static async Task IngestAsync(PersonaEngine engine, IEnumerable<Event> events)
    {
        var outcome = await engine.IngestEventsAsync([.. events], CancellationToken.None);
        Assert.True(outcome.Errors.Count == 0, string.Join("; ", outcome.Errors.Take(3)));
    }

    /// <summary>What each shopper is shown, in the order given: the profile (less the receive time), recommendations, a personalised search.</summary>
    private static Dictionary<string, string> Decisions(PartsStack stack, IEnumerable<string> shoppers)
    {
        var decisions = new Dictionary<string, string>();
        foreach (var shopper in shoppers)
        {
            var profile = stack.Engine.GetProfile(shopper, enrich: false).Profile;
            var recommended = stack.Recommendations.Recommend(shopper, new RecommendationQuery { Count = 6 });
            var found = stack.Search.Search(new SearchRequest { Query = "serum", Limit = 5 }, shopper);
            decisions[shopper] = JsonSerializer.Serialize(profile is null ? null : profile with { UpdatedAt = default }, PersonaJson.Options)
                + " | " + string.Join(", ", recommended.Items.Select(r => $"{r.ItemId}={r.Score:R}"))
                + " | " + string.Join(", ", found.Hits.Select(h => $"{h.Item.Id}={h.Score:R}"));
        }
        return decisions;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UnderATinyBudget_ColdShoppersDecideAsAnEngineThatReplayedEverything(bool olderRecords)
    {
        var history = History(seed: 4, count: 5_000, dayOffset: 0);
        var tail = History(seed: 5, count: 800, dayOffset: 12);
        var everyone = Enumerable.Range(0, Shoppers).Select(i => "s" + i).ToList();

        Dictionary<string, string> expected;
        await using (var reference = await PartsStack.OpenAsync(_reference.Path))
        {
            await FillAsync(reference.Engine);
            foreach (var batch in history.Chunk(500)) await IngestAsync(reference.Engine, batch);
            await IngestAsync(reference.Engine, tail);
            expected = Decisions(reference, everyone);
            Assert.Equal(0, reference.Engine.StateMemory.Evictions);
        }

        // One MiB holds a few hundred of these shoppers: the checkpoints after each batch let the rest go cold.
        var budget = new StateOptions { MemoryBudgetMiB = 1 };
        await using (var cold = await PartsStack.OpenAsync(_cold.Path, budget))
        {
            await FillAsync(cold.Engine);
            foreach (var batch in history.Chunk(500))
            {
                await IngestAsync(cold.Engine, batch);
                await cold.Engine.CheckpointStateAsync(CancellationToken.None);
            }
            var memory = cold.Engine.StateMemory;
            Assert.True(memory.Evictions > Shoppers / 2, $"{memory.Evictions} evictions");
            Assert.True(memory.HotBytes <= memory.BudgetBytes, $"{memory.HotBytes} hot bytes of {memory.BudgetBytes}");
        }

        // Records written before their newest time was kept beside them: the start reads them once and writes it.
        if (olderRecords) await _cold.ExecuteAsync("UPDATE shopper_states SET latest_ticks = NULL;");

        // The restart keeps at most half the budget hot and leaves the rest in the store.
        await using (var cold = await PartsStack.OpenAsync(_cold.Path, budget))
        {
            var heads = new List<ShopperStateHead>();
            await foreach (var head in cold.Engine.Store.ReadShopperStateHeadsAsync()) heads.Add(head);
            Assert.All(heads, head => Assert.NotNull(head.LatestTicks));
            Assert.Equal(history.Select(e => e.UserId).Distinct().Count(), cold.Engine.LastRestore!.Shoppers);
            Assert.True(cold.Engine.StateMemory.HotBytes <= cold.Engine.StateMemory.BudgetBytes / 2 + 20_000);
            await IngestAsync(cold.Engine, tail);
            var order = new Random(6);
            var shuffled = everyone.OrderBy(_ => order.Next()).ToList();
            var actual = Decisions(cold, shuffled);
            foreach (var shopper in everyone) Assert.Equal(expected[shopper], actual[shopper]);
            Assert.True(cold.Engine.StateMemory.Loads > Shoppers / 2, $"{cold.Engine.StateMemory.Loads} cold loads");
            // The tail's shoppers changed after their records: they stay until the next checkpoint writes them.
            await cold.Engine.CheckpointStateAsync(CancellationToken.None);
            var memory = cold.Engine.StateMemory;
            Assert.True(memory.HotBytes <= memory.BudgetBytes, $"{memory.HotBytes} hot bytes of {memory.BudgetBytes}");
        }
    }

    public void Dispose()
    {
        _reference.Dispose();
        _cold.Dispose();
    }
}
