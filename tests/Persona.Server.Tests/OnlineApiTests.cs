using System.Net;
using System.Text.Json;

namespace Persona.Server.Tests;

public sealed class OnlineApiTests
{
    private static async Task SeedAsync(HttpClient client)
    {
        for (var i = 0; i < 6; i++)
        {
            using var put = await client.PutAsync($"/v1/items/lip-{i}", HttpJson.Body(
                $$"""{"title":"Lipstick {{i}}","category_path":["Beauty","Makeup","Lipstick"],"brand":"Acme","price":{{10 + i}}}"""));
            put.EnsureSuccessStatusCode();
        }
        var now = DateTimeOffset.UtcNow.AddHours(-1);
        await PostAsync(client, Enumerable.Range(0, 12).Select(u => (object)new { user_id = $"fan-{u}", type = "purchase", item_id = $"lip-{u % 3}", timestamp = now.AddMinutes(u) }));
    }

    private static async Task PostAsync(HttpClient client, IEnumerable<object> events)
    {
        using var response = await client.PostAsync("/v1/events", HttpJson.Body(JsonSerializer.Serialize(new { events = events.ToArray() })));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement> GetAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJsonAsync();
    }

    [Fact]
    public async Task EveryAnswer_CarriesItsOwnRequestId_EvenWhenServedFromTheCache()
    {
        await using var app = new PersonaAppFactory();
        using var client = app.CreateClient();
        await SeedAsync(client);

        var first = await GetAsync(client, "/v1/users/me/recommendations?n=3");
        var again = await GetAsync(client, "/v1/users/me/recommendations?n=3");
        var similar = await GetAsync(client, "/v1/items/lip-0/similar?n=3&user=me");
        var search = await GetAsync(client, "/v1/search?q=lipstick&n=3");
        var personal = await GetAsync(client, "/v1/search?q=lipstick&n=3&user=me");

        var ids = new[] { first, again, similar, search, personal }.Select(a => a.GetProperty("request_id").GetString()!).ToList();
        Assert.All(ids, id => Assert.Matches("^rq_[0-9a-z]{23}$", id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task ImpressionsClicksAndPurchases_PointingBack_AreCountedBySurfaceSourceAndPosition()
    {
        await using var app = new PersonaAppFactory();
        using var client = app.CreateClient();
        await SeedAsync(client);

        var list = await GetAsync(client, "/v1/users/me/recommendations?n=4");
        Assert.InRange(list.GetProperty("items").GetArrayLength(), 2, 4);
        var request = list.GetProperty("request_id").GetString();
        var items = list.GetProperty("items").EnumerateArray().ToList();
        var firstItem = items[0].GetProperty("item_id").GetString();
        var firstSource = items[0].GetProperty("sources")[0].GetString();
        var now = DateTimeOffset.UtcNow;
        var events = new List<object>();
        for (var p = 0; p < items.Count; p++)
            events.Add(new { user_id = "me", type = "impression", item_id = items[p].GetProperty("item_id").GetString(), request_id = request, position = p + 1, timestamp = now });
        events.Add(new { user_id = "me", type = "click", item_id = firstItem, request_id = request, position = 1, timestamp = now });
        // No request id: attributed, last touch, to the answer that showed the item.
        events.Add(new { user_id = "me", type = "purchase", item_id = firstItem, value = 30.0, timestamp = now.AddMinutes(2) });
        await PostAsync(client, events);

        var metrics = await GetAsync(client, "/v1/metrics/online?by=surface,position&by=source");
        Assert.Equal(["surface", "position", "source"], metrics.GetProperty("by").EnumerateArray().Select(b => b.GetString()));
        var top = metrics.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("surface").GetString() == "recommendations" && r.GetProperty("position").GetString() == "1");
        Assert.Equal(firstSource, top.GetProperty("source").GetString());
        Assert.Equal((1, 1, 1, 1), (top.GetProperty("served").GetInt32(), top.GetProperty("impressions").GetInt32(), top.GetProperty("clicks").GetInt32(), top.GetProperty("purchases").GetInt32()));
        Assert.Equal(30.0, top.GetProperty("revenue").GetDouble());
        Assert.Equal("impressions", top.GetProperty("basis").GetString());
        var ctr = top.GetProperty("ctr");
        Assert.Equal(1.0, ctr.GetProperty("estimate").GetDouble());
        Assert.InRange(ctr.GetProperty("low").GetDouble(), 0.1, 0.3); // Wilson's interval of 1 in 1
        Assert.Equal(30_000, top.GetProperty("revenue_per_thousand").GetProperty("estimate").GetDouble(), 6);

        var total = (await GetAsync(client, "/v1/metrics/online")).GetProperty("rows").EnumerateArray().Single();
        Assert.Equal(items.Count, total.GetProperty("impressions").GetInt32());
        Assert.Equal(1.0 / items.Count, total.GetProperty("ctr").GetProperty("estimate").GetDouble(), 9);
    }

    [Fact]
    public async Task BadParameters_AreRejected_NamingTheField()
    {
        await using var app = new PersonaAppFactory();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/v1/metrics/online?by=surface,colour&from=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadJsonAsync()).GetProperty("errors");
        Assert.Contains("colour", errors.GetProperty("by")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("ISO 8601", errors.GetProperty("from")[0].GetString(), StringComparison.Ordinal);

        using var reversed = await client.GetAsync("/v1/metrics/online?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z");
        Assert.Equal(HttpStatusCode.BadRequest, reversed.StatusCode);
        Assert.Contains("before", (await reversed.ReadJsonAsync()).GetProperty("errors").GetProperty("from")[0].GetString(), StringComparison.Ordinal);

        using var similar = await client.GetAsync("/v1/items/lip-0/similar?user=%20");
        Assert.Equal(HttpStatusCode.BadRequest, similar.StatusCode);
    }
}
