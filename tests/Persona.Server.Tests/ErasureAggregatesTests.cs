using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Persona.Abstractions;
using Persona.Hosting;
using Persona.Hosting.Recommendations;

namespace Persona.Server.Tests;

/// <summary>
/// Issue 13, item 7: after <c>DELETE /v1/users/{id}</c> every aggregate equals one computed from scratch without that
/// shopper. The reference is a second server started on a copy of the store taken after the erasure.
/// </summary>
public sealed class ErasureAggregatesTests
{
    private const string Erased = "u04";
    private static readonly string[] Groups = ["18-24", "25-34", "35-44"];

    private static async Task SeedAsync(PersonaEngine engine)
    {
        await AudienceShopFactory.SeedAsync(engine);
        // Attribute groups, so popularity is also counted within them.
        var users = Enumerable.Range(0, AudienceShopFactory.Users).Select(u => new User
        {
            Id = $"u{u:00}",
            AgeBand = Groups[u % Groups.Length],
            Region = u % 2 == 0 ? "north" : "south",
            Consent = new Consent
            {
                Marketing = !AudienceShopFactory.NoMarketing.Contains($"u{u:00}"),
                Personalization = !AudienceShopFactory.NoPersonalization.Contains($"u{u:00}"),
            },
        }).ToList();
        Assert.Empty(await engine.UpsertUsersAsync(users, CancellationToken.None));
        // Searches followed by clicks: query-click pairs and co-visitation, the erased shopper's among them.
        var end = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
        var events = new List<Event>();
        foreach (var u in new[] { 1, 2, 4, 5, 8 })
        {
            var at = end.AddHours(-30 - u);
            events.Add(new Event { Id = $"s{u}", UserId = $"u{u:00}", Type = EventType.Search, Query = "item", Timestamp = at });
            events.Add(new Event { Id = $"c{u}a", UserId = $"u{u:00}", Type = EventType.Click, ItemId = $"i{u}", Timestamp = at.AddMinutes(1) });
            events.Add(new Event { Id = $"c{u}b", UserId = $"u{u:00}", Type = EventType.Click, ItemId = $"i{u + 20}", Timestamp = at.AddMinutes(2) });
        }
        // The erased shopper is the newest and the busiest with a few items.
        for (var i = 0; i < 12; i++)
            events.Add(new Event { Id = $"x{i}", UserId = Erased, Type = EventType.Purchase, ItemId = $"i{i % 3}", Value = 10, Timestamp = end.AddHours(-20 + i) });
        Assert.Empty((await engine.IngestEventsAsync(events, CancellationToken.None)).Errors);
    }

    private static PersonaAppFactory NewApp()
    {
        var app = new PersonaAppFactory();
        app.Settings["Persona:Models:RefreshOnStart"] = "false";
        app.Settings["Persona:Search:Semantic"] = "false";
        return app;
    }

    /// <summary>A server (not started yet) on a copy of <paramref name="app"/>'s store as it is now.</summary>
    private static PersonaAppFactory CopyOf(PersonaAppFactory app)
    {
        var fresh = NewApp();
        Directory.CreateDirectory(fresh.DataDirectory);
        using var source = new SqliteConnection($"Data Source={Path.Combine(app.DataDirectory, "persona.db")};Pooling=False");
        using var target = new SqliteConnection($"Data Source={Path.Combine(fresh.DataDirectory, "persona.db")};Pooling=False");
        source.Open();
        source.BackupDatabase(target);
        return fresh;
    }

    /// <summary>Everything aggregated over shoppers, as plain text lines that name items and keys, never internal numbering.</summary>
    private static async Task<List<string>> AggregatesAsync(PersonaAppFactory app, HttpClient client, string audienceRule)
    {
        var lines = new List<string>();
        var services = app.Services;
        var recommendations = services.GetRequiredService<RecommendationService>();
        var search = services.GetRequiredService<SearchService>();
        var items = Enumerable.Range(0, 40).Select(i => $"i{i}").ToList();
        foreach (var item in items)
        {
            var pairs = app.Engine.ItemPairs;
            Assert.Same(pairs, recommendations.ItemPairs);
            Assert.Same(pairs, search.ItemPairs);
            lines.Add($"follows {item} total={pairs.Total(item)} " +
                string.Join(" ", pairs.Followers(item, int.MaxValue).Select(f => $"{f.Id}:{f.Score}")));
            lines.Add($"covisit {item} seen={pairs.Seen(item)} neighbours={pairs.NeighbourCount(item)} " +
                string.Join(" ", items.Select(other => pairs.Similarity(item, other).ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
        }
        string[][] paths = [["Beauty"], ["Beauty", "Skincare"], ["Sports"], ["Home", "Kitchen"]];
        string[] keys =
        [
            "", .. paths.Select(p => CategoryPaths.Key(p, p.Length)),
            .. Groups.Select(g => Persona.Core.Ranking.UserSegments.Of(new User { Id = "x", AgeBand = g }).Single().Key),
            .. new[] { "north", "south" }.Select(r => Persona.Core.Ranking.UserSegments.Of(new User { Id = "x", Region = r }).Single().Key),
        ];
        foreach (var key in keys)
            lines.Add($"popular [{key}] " + string.Join(" ", recommendations.Popularity.Top(key, int.MaxValue).Select(p => $"{p.Id}:{p.Score:R}")));
        lines.Add($"search clicks {search.Status.ClickPairs}");
        lines.Add($"shop clock {app.Engine.AsOf:O}, profiles {app.Engine.ProfileUsers.Count()}");

        var created = await (await client.PostAsync("/v1/audiences", HttpJson.Body(audienceRule))).ReadJsonAsync();
        lines.Add($"audience count {created.GetProperty("count")}");
        return lines;
    }

    [Fact]
    public async Task EraseUser_EveryAggregate_EqualsOneComputedFromScratchWithoutTheShopper()
    {
        await using var app = NewApp();
        using var client = app.CreateClient();
        await SeedAsync(app.Engine);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/segments/refresh", null)).StatusCode);
        const string rule = """{"lifecycle":["active","at_risk","new"],"min_count":1}""";
        var audience = await (await client.PostAsync("/v1/audiences", HttpJson.Body(rule))).ReadJsonAsync();
        var audienceId = audience.GetProperty("id").GetString();
        var before = await AggregatesAsync(app, client, rule);
        var sizesBefore = await SegmentSizesAsync(client);

        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/v1/users/{Erased}")).StatusCode);
        var after = await AggregatesAsync(app, client, rule);

        // A fresh server on a copy of the store as it is after the erasure.
        await using var fresh = CopyOf(app);
        using var freshClient = fresh.CreateClient();
        var fromScratch = await AggregatesAsync(fresh, freshClient, rule);
        // The refresh's results as the store holds them after the erasure: everyone's but the erased shopper's.
        var models = app.Services.GetRequiredService<PersonaModels>();
        var freshModels = fresh.Services.GetRequiredService<PersonaModels>();
        Assert.True(await freshModels.LoadAsync(CancellationToken.None));
        Assert.Null(freshModels.Results.MembershipOf(Erased));
        Assert.Null(freshModels.Results.PredictionsOf(Erased));
        Assert.Equal(models.Results.Count, freshModels.Results.Count);
        Assert.All(app.Engine.ProfileUsers, u => Assert.Equal(models.Results.MembershipOf(u), freshModels.Results.MembershipOf(u)));
        Assert.Equal(models.Segments!.Segments.Select(s => (s.Id, s.Size, s.Share)), freshModels.Segments!.Segments.Select(s => (s.Id, s.Size, s.Share)));

        Assert.NotEqual(before, after); // the shopper had a share to remove
        Assert.Equal(fromScratch, after);
        Assert.All(after.Where(l => l.StartsWith("popular", StringComparison.Ordinal)), l => Assert.Contains(":", l.Split("] ")[1], StringComparison.Ordinal));

        // The stored audience is counted again without the shopper; the segments' sizes follow their members.
        var stored = await (await client.GetAsync($"/v1/audiences/{audienceId}")).ReadJsonAsync();
        Assert.Equal(audience.GetProperty("count").GetInt64() - 1, stored.GetProperty("count").GetInt64());
        Assert.Equal(after.Single(l => l.StartsWith("audience count", StringComparison.Ordinal)), $"audience count {stored.GetProperty("count")}");
        var sizes = await SegmentSizesAsync(client);
        Assert.Equal(sizesBefore.Values.Sum() - 1, sizes.Values.Sum());
        var members = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var user in app.Engine.ProfileUsers)
            if (app.Engine.GetProfile(user) is { Status: ProfileStatus.Found, Profile.Segment: { } segment })
                members[segment.SegmentId] = members.GetValueOrDefault(segment.SegmentId) + 1;
        Assert.Equal(members.Where(m => m.Value > 0).OrderBy(m => m.Key), sizes.Where(s => s.Value > 0).OrderBy(s => s.Key));
    }

    /// <summary>
    /// The recount after an erasure reads the whole log outside the write path: events ingested while it reads are
    /// acknowledged at once, and afterwards every aggregate equals one computed from scratch over the store (the new
    /// events counted once, the erased shopper's not at all).
    /// </summary>
    [Fact]
    public async Task EraseUser_IngestGoesOnWhileTheAggregatesAreRecounted()
    {
        await using var app = NewApp();
        using var client = app.CreateClient();
        await SeedAsync(app.Engine);
        const string rule = """{"lifecycle":["active","at_risk","new"],"min_count":1}""";
        _ = await AggregatesAsync(app, client, rule);
        var held = new HeldRecount();
        app.Engine.AddObserver(held);

        var erasure = client.DeleteAsync($"/v1/users/{Erased}");
        await held.Reading.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var at = new DateTimeOffset(2026, 10, 1, 2, 0, 0, TimeSpan.Zero);
        var events = Enumerable.Range(0, 6).Select(i => new Event
        {
            Id = $"late{i}", UserId = $"u{1 + i % 2:00}", Type = EventType.Purchase, ItemId = $"i{30 + i % 3}", Value = 5, Timestamp = at.AddMinutes(i),
        }).ToList();
        var ingest = app.Engine.IngestEventsAsync(events, CancellationToken.None);
        Assert.Empty((await ingest.WaitAsync(TimeSpan.FromSeconds(30))).Errors);
        Assert.False(erasure.IsCompleted, "the erasure finished before its recount was released");
        held.Release.Set();
        var receipt = await (await erasure).ReadJsonAsync();
        Assert.Contains(receipt.GetProperty("removed").EnumerateArray(), r => r.GetString() == "item pairs: recounted");
        var after = await AggregatesAsync(app, client, rule);

        await using var fresh = CopyOf(app);
        using var freshClient = fresh.CreateClient();
        var fromScratch = await AggregatesAsync(fresh, freshClient, rule);
        Assert.Equal(fromScratch, after);
        Assert.Contains(after, l => l.StartsWith("follows i30 total=", StringComparison.Ordinal) && !l.StartsWith("follows i30 total=0", StringComparison.Ordinal));
    }

    /// <summary>An observer whose recount holds the log read at its first page until released.</summary>
    private sealed class HeldRecount : IEngineObserver, IErasureRecount
    {
        public ManualResetEventSlim Release { get; } = new(false);
        public TaskCompletionSource Reading { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnEventsStored(IReadOnlyList<StoredEvent> events) { }
        public void OnItemsUpserted(IReadOnlyList<Item> items) { }
        public ValueTask<IErasureRecount?> BeginRecountAsync(string userId, CancellationToken cancellationToken) => ValueTask.FromResult<IErasureRecount?>(this);

        public void Apply(IReadOnlyList<StoredEvent> page)
        {
            Reading.TrySetResult();
            Release.Wait(TimeSpan.FromSeconds(60));
        }

        public string Complete(long lastSequence) => "held: recounted";
        public void Abandon() { }
    }

    private static async Task<Dictionary<string, int>> SegmentSizesAsync(HttpClient client)
    {
        var segments = await (await client.GetAsync("/v1/segments")).ReadJsonAsync();
        return segments.GetProperty("segments").EnumerateArray()
            .ToDictionary(s => s.GetProperty("id").GetString()!, s => s.GetProperty("size").GetInt32(), StringComparer.Ordinal);
    }
}
