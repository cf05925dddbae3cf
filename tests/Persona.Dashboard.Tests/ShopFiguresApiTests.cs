using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Persona.Abstractions;
using Persona.Hosting;

namespace Persona.Dashboard.Tests;

/// <summary>The Overview's shop figures, the segment summaries, the audience builder's choices and the user list's filters, over real HTTP.</summary>
[Collection(DashboardCollection.Name)]
public sealed class ShopFiguresApiTests(DashboardServer server)
{
    private const double Cents = 0.011;

    /// <summary>Revenue, orders, visitors and buyers recomputed from the stored events, as the README defines them.</summary>
    private async Task<(double Revenue, int Orders, int Visitors, int Buyers, Dictionary<string, double> DayRevenue)> FromScratchAsync(DateOnly from, DateOnly to)
    {
        double revenue = 0;
        var orders = new HashSet<string>(StringComparer.Ordinal);
        var visitors = new HashSet<string>(StringComparer.Ordinal);
        var buyers = new HashSet<string>(StringComparer.Ordinal);
        var days = new Dictionary<string, double>(StringComparer.Ordinal);
        await foreach (var e in server.Engine.Store.ReadEventsAsync())
        {
            var day = DateOnly.FromDateTime(e.Timestamp.UtcDateTime);
            if (e.ExcludedReason is not null || e.Type == EventType.Impression || day < from || day > to) continue;
            visitors.Add(e.UserId);
            if (e.Type != EventType.Purchase) continue;
            var item = e.ItemId is null ? null : await server.Engine.GetItemAsync(e.ItemId, CancellationToken.None);
            var paid = e.Value ?? item?.Price ?? 0;
            revenue += paid;
            days[day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)] = days.GetValueOrDefault(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)) + paid;
            orders.Add(e.UserId + "\n" + (e.SessionId ?? "e:" + e.Id));
            buyers.Add(e.UserId);
        }
        return (revenue, orders.Count, visitors.Count, buyers.Count, days);
    }

    [Fact]
    public async Task Figures_WholeRange_EqualTheEventLogCountedFromScratch()
    {
        var body = await server.GetJsonAsync("/v1/admin/overview/figures");
        var from = DateOnly.Parse(body.GetProperty("data_from").GetString()!, CultureInfo.InvariantCulture);
        var to = DateOnly.Parse(body.GetProperty("data_to").GetString()!, CultureInfo.InvariantCulture);
        var expected = await FromScratchAsync(from, to);

        Assert.True(expected.Revenue > 0 && expected.Orders > 0);
        Assert.Equal(expected.Revenue, body.GetProperty("revenue").GetDouble(), Cents);
        Assert.Equal(expected.Orders, body.GetProperty("orders").GetInt32());
        Assert.Equal(expected.Visitors, body.GetProperty("active_shoppers").GetInt32());
        Assert.Equal(expected.Buyers, body.GetProperty("buyers").GetInt32());
        Assert.Equal((double)expected.Buyers / expected.Visitors, body.GetProperty("conversion").GetDouble(), tolerance: 0.0001);
        Assert.Equal(expected.Revenue / expected.Orders, body.GetProperty("average_order_value").GetDouble(), tolerance: 0.01);

        // One point per day of the range, each day's revenue as counted.
        var daily = body.GetProperty("daily").EnumerateArray().ToList();
        Assert.Equal(to.DayNumber - from.DayNumber + 1, daily.Count);
        foreach (var day in daily)
            Assert.Equal(expected.DayRevenue.GetValueOrDefault(day.GetProperty("date").GetString()!), day.GetProperty("revenue").GetDouble(), Cents);
        Assert.Equal(body.GetProperty("orders").GetInt32(), daily.Sum(d => d.GetProperty("orders").GetInt32()));
    }

    [Fact]
    public async Task Figures_OneDay_CountOnlyThatDay()
    {
        var whole = await server.GetJsonAsync("/v1/admin/overview/figures");
        var busiest = whole.GetProperty("daily").EnumerateArray().MaxBy(d => d.GetProperty("revenue").GetDouble());
        var date = busiest.GetProperty("date").GetString()!;

        var body = await server.GetJsonAsync($"/v1/admin/overview/figures?from={date}&to={date}");
        var day = DateOnly.Parse(date, CultureInfo.InvariantCulture);
        var expected = await FromScratchAsync(day, day);
        Assert.Equal(date, body.GetProperty("from").GetString());
        Assert.Single(body.GetProperty("daily").EnumerateArray());
        Assert.Equal(expected.Revenue, body.GetProperty("revenue").GetDouble(), Cents);
        Assert.Equal(expected.Visitors, body.GetProperty("active_shoppers").GetInt32());
        Assert.True(body.GetProperty("revenue").GetDouble() < whole.GetProperty("revenue").GetDouble());
    }

    [Fact]
    public async Task Figures_APurchasePosted_AddsItsAmountOrderAndBuyerToItsDay()
    {
        var whole = await server.GetJsonAsync("/v1/admin/overview/figures");
        var date = whole.GetProperty("data_from").GetString()!;
        var before = await server.GetJsonAsync($"/v1/admin/overview/figures?from={date}&to={date}");

        var shopper = $"figures-{Guid.NewGuid():n}";
        var at = DateOnly.Parse(date, CultureInfo.InvariantCulture).ToDateTime(new TimeOnly(12, 0), DateTimeKind.Utc);
        var item = (await server.Engine.Store.GetUserEventsAsync(server.DemoUserIds[0])).First(e => e.ItemId is not null).ItemId;
        using var posted = await server.Http.PostAsJsonAsync("/v1/events", new object[]
        {
            new { id = shopper + "-v", user_id = shopper, type = "view", item_id = item, timestamp = at, session_id = "s1" },
            new { id = shopper + "-p1", user_id = shopper, type = "purchase", item_id = item, timestamp = at.AddMinutes(5), session_id = "s1", value = 100.25 },
            new { id = shopper + "-p2", user_id = shopper, type = "purchase", item_id = item, timestamp = at.AddMinutes(6), session_id = "s1", value = 23.5 },
        });
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);

        var after = await server.GetJsonAsync($"/v1/admin/overview/figures?from={date}&to={date}");
        Assert.Equal(before.GetProperty("revenue").GetDouble() + 123.75, after.GetProperty("revenue").GetDouble(), Cents);
        // Two purchases in one session are one order.
        Assert.Equal(before.GetProperty("orders").GetInt32() + 1, after.GetProperty("orders").GetInt32());
        Assert.Equal(before.GetProperty("buyers").GetInt32() + 1, after.GetProperty("buyers").GetInt32());
        Assert.Equal(before.GetProperty("active_shoppers").GetInt32() + 1, after.GetProperty("active_shoppers").GetInt32());

        // Erasing the shopper takes their share out at once.
        using var erased = await server.Http.DeleteAsync(new Uri($"/v1/users/{shopper}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
        var gone = await server.GetJsonAsync($"/v1/admin/overview/figures?from={date}&to={date}");
        Assert.Equal(before.GetProperty("revenue").GetDouble(), gone.GetProperty("revenue").GetDouble(), Cents);
        Assert.Equal(before.GetProperty("orders").GetInt32(), gone.GetProperty("orders").GetInt32());
    }

    [Theory]
    [InlineData("from=2026-13-01", "from")]
    [InlineData("to=yesterday", "to")]
    [InlineData("from=2026-10-02&to=2026-10-01", "from")]
    public async Task Figures_BadRange_Is400NamingTheField(string query, string field)
    {
        using var response = await server.Http.GetAsync(new Uri($"/v1/admin/overview/figures?{query}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors name {field}: {problem}");
    }

    [Fact]
    public async Task Figures_LifecycleMixAndPopulation_ExplainUsersAndProfiles()
    {
        var body = await server.GetJsonAsync("/v1/admin/overview/figures");
        var health = await server.GetJsonAsync("/health");
        var population = body.GetProperty("population");
        var stats = health.GetProperty("stats");
        Assert.Equal(stats.GetProperty("users").GetInt64(), population.GetProperty("users").GetInt64());
        Assert.Equal(stats.GetProperty("profiles").GetInt64(), population.GetProperty("profiles").GetInt64());
        // users − records without events + profiles without a record = profiles.
        Assert.Equal(population.GetProperty("profiles").GetInt64(),
            population.GetProperty("users").GetInt64() - population.GetProperty("users_without_events").GetInt32() + population.GetProperty("profiles_without_user_record").GetInt32());

        var stages = server.Engine.ProfileUsers.Select(u => server.Engine.GetProfile(u)).Where(r => r.Status == ProfileStatus.Found)
            .GroupBy(r => r.Profile!.Traits.Lifecycle).ToDictionary(g => g.Key, g => g.Count());
        var mix = body.GetProperty("lifecycle");
        foreach (var stage in new[] { "new", "active", "at_risk", "churned" })
            Assert.Equal(stages.GetValueOrDefault(stage), mix.GetProperty(stage).GetInt32());
    }

    [Fact]
    public async Task Figures_Models_ListEveryModelInService()
    {
        var body = await server.GetJsonAsync("/v1/admin/overview/figures");
        var models = body.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Equal(["predictions", "segments", "sequence", "search_encoder", "search_reranker"], models.Keys.ToArray());
        var refresh = server.Services.GetRequiredService<PersonaModels>();
        Assert.Equal(refresh.LastRefresh!.PredictionModel, models["predictions"].GetProperty("version").GetString());
        Assert.Equal(refresh.Segments!.Version, models["segments"].GetProperty("version").GetString());
        Assert.All(models.Values, m => Assert.False(string.IsNullOrEmpty(m.GetProperty("detail_zh").GetString())));
    }

    [Fact]
    public async Task SegmentSummaries_EverySegment_HasSizeRevenueLifecycleAndNamedCategories()
    {
        var segments = await server.GetJsonAsync("/v1/segments");
        var summary = await server.GetJsonAsync("/v1/segments/summary");
        var list = summary.GetProperty("segments").EnumerateArray().ToList();
        Assert.Equal(
            segments.GetProperty("segments").EnumerateArray().Select(s => (s.GetProperty("id").GetString(), s.GetProperty("size").GetInt32())).ToList(),
            list.Select(s => (s.GetProperty("id").GetString(), s.GetProperty("size").GetInt32())).ToList());

        var model = server.Services.GetRequiredService<PersonaModels>().Segments!;
        var figures = await server.GetJsonAsync("/v1/admin/overview/figures");
        var members = model.Members.GroupBy(m => m.Value.SegmentId).ToDictionary(g => g.Key, g => g.Select(m => m.Key).ToHashSet());
        double shareSum = 0;
        foreach (var s in list)
        {
            var id = s.GetProperty("id").GetString()!;
            var lifecycle = s.GetProperty("lifecycle");
            var stages = members[id].Select(u => server.Engine.GetProfile(u)).Where(r => r.Status == ProfileStatus.Found)
                .GroupBy(r => r.Profile!.Traits.Lifecycle).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(stages.GetValueOrDefault("churned"), lifecycle.GetProperty("churned").GetInt32());
            Assert.Equal(stages.GetValueOrDefault("active"), lifecycle.GetProperty("active").GetInt32());
            var categories = s.GetProperty("top_categories").EnumerateArray().ToList();
            Assert.NotEmpty(categories);
            Assert.All(categories, c => Assert.False(string.IsNullOrEmpty(c.GetProperty("label_zh").GetString())));
            Assert.NotEqual(JsonValueKind.Null, s.GetProperty("centre_x").ValueKind);
            if (s.GetProperty("orders").GetInt32() > 0)
                Assert.Equal(s.GetProperty("revenue").GetDouble() / s.GetProperty("orders").GetInt32(), s.GetProperty("average_order_value").GetDouble(), tolerance: 0.01);
            shareSum += s.GetProperty("revenue_share").GetDouble();
        }
        // Segmented shoppers' revenue is the shop's revenue, less that of shoppers outside any segment.
        Assert.InRange(shareSum, 0.5, 1.0001);
        Assert.Equal(figures.GetProperty("revenue").GetDouble(), summary.GetProperty("revenue").GetDouble(), 0.05);
    }

    [Fact]
    public async Task AudienceChoices_OfferSegmentsTagsAndCategoriesWithLabels()
    {
        var body = await server.GetJsonAsync("/v1/audiences/choices");
        var segments = await server.GetJsonAsync("/v1/segments");
        Assert.Equal(segments.GetProperty("segments").EnumerateArray().Select(s => s.GetProperty("id").GetString()),
            body.GetProperty("segments").EnumerateArray().Select(s => s.GetProperty("key").GetString()));
        var tags = body.GetProperty("tags").EnumerateArray().ToDictionary(t => t.GetProperty("key").GetString()!, t => t.GetProperty("users").GetInt32());
        var profiles = server.Engine.ProfileUsers.Select(u => server.Engine.GetProfile(u)).Where(r => r.Status == ProfileStatus.Found).Select(r => r.Profile!).ToList();
        var expected = profiles.SelectMany(p => p.Tags.Select(t => t.Key).Distinct()).GroupBy(k => k).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(expected.OrderBy(kv => kv.Key, StringComparer.Ordinal), tags.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.True(tags.Count > 3);
        var categories = body.GetProperty("categories").EnumerateArray().ToList();
        Assert.Contains(categories, c => c.GetProperty("level").GetInt32() == 1 && c.GetProperty("users").GetInt32() > 0);
        Assert.All(categories, c => Assert.False(string.IsNullOrEmpty(c.GetProperty("label_zh").GetString())));
        Assert.Equal(["new", "active", "at_risk", "churned"], body.GetProperty("lifecycle").EnumerateArray().Select(l => l.GetProperty("key").GetString()!));
    }

    [Theory]
    [InlineData("lifecycle")]
    [InlineData("tier")]
    [InlineData("tag")]
    [InlineData("segment")]
    public async Task ListUsers_Filter_ReturnsExactlyTheMatchingShoppers(string filter)
    {
        var profiles = server.Engine.ProfileUsers.Select(u => server.Engine.GetProfile(u)).Where(r => r.Status == ProfileStatus.Found).Select(r => r.Profile!).ToList();
        var (value, expected) = filter switch
        {
            "lifecycle" => Pick(profiles, p => p.Traits.Lifecycle),
            "tier" => Pick(profiles.Where(p => p.Traits.PurchasingPowerTier is not null), p => p.Traits.PurchasingPowerTier!),
            "tag" => Pick(profiles.SelectMany(p => p.Tags.Select(t => (p, t.Key))), x => x.Key, x => x.p),
            _ => Pick(profiles.Where(p => p.Segment is not null), p => p.Segment!.SegmentId),
        };
        var body = await server.GetJsonAsync($"/v1/users?{filter}={Uri.EscapeDataString(value)}&limit=200");
        Assert.Equal(expected.Count, body.GetProperty("total").GetInt32());
        Assert.Equal(expected.Order(StringComparer.Ordinal).Take(200), body.GetProperty("users").EnumerateArray().Select(u => u.GetString()!));
        Assert.True(expected.Count < profiles.Count, "the filter keeps fewer than all shoppers");
    }

    [Fact]
    public async Task ListUsers_FiltersCombined_AreAllApplied()
    {
        var profiles = server.DemoUserIds.Select(u => server.Engine.GetProfile(u).Profile!).ToList();
        var sample = profiles.First(p => p.Segment is not null);
        var expected = profiles.Where(p => p.Segment?.SegmentId == sample.Segment!.SegmentId && p.Traits.Lifecycle == sample.Traits.Lifecycle).Select(p => p.UserId).ToList();
        var body = await server.GetJsonAsync($"/v1/users?segment={sample.Segment!.SegmentId}&lifecycle={sample.Traits.Lifecycle}&limit=200");
        Assert.Equal(expected.Order(StringComparer.Ordinal), body.GetProperty("users").EnumerateArray().Select(u => u.GetString()!));
    }

    [Theory]
    [InlineData("lifecycle=sleeping", "lifecycle")]
    [InlineData("tier=gold", "tier")]
    [InlineData("segment=no-such-segment", "segment")]
    [InlineData("tag=%20", "tag")]
    [InlineData("limit=-1", "limit")]
    [InlineData("limit=100000", "limit")]
    public async Task ListUsers_BadFilter_Is400NamingTheField(string query, string field)
    {
        using var response = await server.Http.GetAsync(new Uri($"/v1/users?{query}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors name {field}: {problem}");
    }

    /// <summary>The most common value that not everyone has (so a filter that ignores it fails), and who has it.</summary>
    private static (string Value, List<string> Users) Pick(IEnumerable<Profile> profiles, Func<Profile, string> value) =>
        Pick(profiles, value, p => p);

    private static (string Value, List<string> Users) Pick<T>(IEnumerable<T> rows, Func<T, string> value, Func<T, Profile> profile)
    {
        var groups = rows.GroupBy(value).Select(g => (g.Key, Users: g.Select(profile).Select(p => p.UserId).Distinct().ToList())).OrderByDescending(g => g.Users.Count).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        var total = rows.Select(profile).Select(p => p.UserId).Distinct().Count();
        var chosen = groups.FirstOrDefault(g => g.Users.Count < total && g.Users.Count > 0);
        return chosen.Key is null ? groups[0] : chosen;
    }
}
