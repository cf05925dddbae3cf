using System.Net;
using Persona.Abstractions;

namespace Persona.Server.Tests;

/// <summary>A shop of 70 users through the real pipeline: 6 withdrew marketing consent, 3 personalisation consent.</summary>
public sealed class AudienceShopFactory : IAsyncLifetime
{
    public const int Users = 70;
    public static readonly string[] NoMarketing = ["u03", "u13", "u23", "u33", "u43", "u53"];
    public static readonly string[] NoPersonalization = ["u07", "u17", "u27"];

    public PersonaAppFactory App { get; } = new();

    public async Task InitializeAsync()
    {
        _ = App.CreateClient();
        await SeedAsync(App.Engine);
    }

    /// <summary>40 items in 4 categories, <see cref="Users"/> users with the consents above, 45 days of views and purchases.</summary>
    public static async Task SeedAsync(Persona.Hosting.PersonaEngine engine)
    {
        var items = new List<Item>();
        string[][] paths = [["Beauty", "Skincare"], ["Beauty", "Makeup"], ["Sports", "Shoes"], ["Home", "Kitchen"]];
        for (var i = 0; i < 40; i++)
            items.Add(new Item { Id = $"i{i}", Title = $"Item {i}", CategoryPath = paths[i % paths.Length], Price = 20 + 10 * i });
        Assert.Empty(await engine.UpsertItemsAsync(items, CancellationToken.None));
        var users = Enumerable.Range(0, Users).Select(u => new User
        {
            Id = $"u{u:00}",
            Consent = new Consent { Marketing = !NoMarketing.Contains($"u{u:00}"), Personalization = !NoPersonalization.Contains($"u{u:00}") },
        }).ToList();
        Assert.Empty(await engine.UpsertUsersAsync(users, CancellationToken.None));

        var rng = new Random(5);
        var end = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
        var events = new List<Event>();
        for (var u = 0; u < Users; u++)
        {
            // A third stop after 20 of 45 days (churners); the rest keep coming.
            var lastDay = u % 3 == 0 ? 20 : 45;
            for (var day = 0; day < lastDay; day += 1 + rng.Next(3))
            {
                var at = end.AddDays(day - 45).AddHours(rng.Next(24));
                var item = $"i{(u % 2 == 0 ? rng.Next(20) : 20 + rng.Next(20))}";
                events.Add(new Event { Id = $"e{u}-{day}-v", UserId = $"u{u:00}", Type = EventType.View, ItemId = item, Timestamp = at });
                if (rng.NextDouble() < 0.3)
                    events.Add(new Event { Id = $"e{u}-{day}-p", UserId = $"u{u:00}", Type = EventType.Purchase, ItemId = item, Value = 50, Timestamp = at.AddMinutes(5) });
            }
        }
        foreach (var chunk in events.Chunk(1000))
        {
            var outcome = await engine.IngestEventsAsync(chunk, CancellationToken.None);
            Assert.Empty(outcome.Errors);
        }
    }

    public Task DisposeAsync()
    {
        App.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class AudiencesApiTests(AudienceShopFactory shop) : IClassFixture<AudienceShopFactory>
{
    private readonly HttpClient _client = shop.App.CreateClient();
    private const int Eligible = AudienceShopFactory.Users - 6 - 3;

    [Fact]
    public async Task Create_EmptyRule_CountsEveryoneWithConsent()
    {
        var body = await PostAsync("{}");
        Assert.Equal(Eligible, body.GetProperty("count").GetInt64());
        Assert.False(body.GetProperty("suppressed").GetBoolean());
        Assert.StartsWith("aud-", body.GetProperty("id").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_FewerThanK_SuppressesTheCount()
    {
        // Users who bought Sports and nothing else are few: u01, u05, ... all buy from items 20–39 (Sports/Home); restrict with k.
        var small = await PostAsync("""{"affinities":{"Sports":0.4},"min_count":1000}""");
        Assert.True(small.GetProperty("suppressed").GetBoolean());
        Assert.False(small.TryGetProperty("count", out var count) && count.ValueKind != System.Text.Json.JsonValueKind.Null);

        var exact = await PostAsync("""{"affinities":{"Sports":0.4},"min_count":1}""");
        Assert.InRange(exact.GetProperty("count").GetInt64(), 1, Eligible - 1);
    }

    [Fact]
    public async Task Create_WithEpsilon_MarksTheCountNoised()
    {
        var body = await PostAsync("""{"epsilon":1.0}""");
        Assert.True(body.GetProperty("noised").GetBoolean());
        Assert.Equal(1.0, body.GetProperty("epsilon").GetDouble());
        // Laplace(1) noise stays within ±40 with overwhelming probability.
        Assert.InRange(body.GetProperty("count").GetInt64(), Eligible - 40, Eligible + 40);
    }

    [Fact]
    public async Task Create_InvalidRule_NamesTheField()
    {
        var response = await _client.PostAsync("/v1/audiences", HttpJson.Body("""{"predictions":{"churn_risk":{"min":1.5}},"lifecycle":["sleepy"]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadJsonAsync()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("predictions.churn_risk.min", out _));
        Assert.True(errors.TryGetProperty("lifecycle[0]", out _));
    }

    [Fact]
    public async Task Export_Csv_ListsMembersWithConsentOnly()
    {
        var id = (await PostAsync("{}")).GetProperty("id").GetString();
        var response = await _client.GetAsync($"/v1/audiences/{id}/export?format=csv");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/csv", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("user_id,segment_id,segment,lifecycle,purchase_propensity,churn_risk", lines[0]);
        var ids = lines.Skip(1).Select(l => l.Split(',')[0]).ToList();
        Assert.Equal(Eligible, ids.Count);
        Assert.DoesNotContain(ids, AudienceShopFactory.NoMarketing.Contains);
        Assert.DoesNotContain(ids, AudienceShopFactory.NoPersonalization.Contains);
    }

    [Fact]
    public async Task Export_JsonLinesAndErrors()
    {
        var id = (await PostAsync("""{"lifecycle":["active"]}""")).GetProperty("id").GetString();
        var jsonl = await _client.GetStringAsync($"/v1/audiences/{id}/export?format=jsonl");
        var rows = jsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(rows, r => Assert.Contains("\"lifecycle\":\"active\"", r, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.GetAsync($"/v1/audiences/{id}/export?format=xml")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/v1/audiences/aud-missing/export")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/v1/audiences/{id}")).StatusCode);
    }

    [Fact]
    public async Task Refresh_ThenSegmentsAndPredictions_AreServedAndUsableInRules()
    {
        var refresh = await _client.PostAsync("/v1/segments/refresh", null);
        Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);

        var segments = await (await _client.GetAsync("/v1/segments")).ReadJsonAsync();
        var list = segments.GetProperty("segments").EnumerateArray().ToList();
        Assert.InRange(list.Count, 3, 8);
        Assert.All(list, s => Assert.False(string.IsNullOrEmpty(s.GetProperty("label_zh").GetString())));
        Assert.Equal(AudienceShopFactory.Users - 3, list.Sum(s => s.GetProperty("size").GetInt32()));
        Assert.NotEmpty(segments.GetProperty("projection").EnumerateArray());

        var profile = await (await _client.GetAsync("/v1/users/u01/profile")).ReadJsonAsync();
        var segmentId = profile.GetProperty("segment").GetProperty("segment_id").GetString();
        Assert.InRange(profile.GetProperty("predictions").GetProperty("churn_risk").GetDouble(), 0, 1);

        var inSegment = await PostAsync($$"""{"segments":["{{segmentId}}"],"min_count":1}""");
        Assert.InRange(inSegment.GetProperty("count").GetInt64(), 1, Eligible);
        var risky = await PostAsync("""{"predictions":{"churn_risk":{"min":0.0}},"min_count":1}""");
        Assert.Equal(Eligible, risky.GetProperty("count").GetInt64());
    }

    private async Task<System.Text.Json.JsonElement> PostAsync(string rule)
    {
        var response = await _client.PostAsync("/v1/audiences", HttpJson.Body(rule));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }
}
