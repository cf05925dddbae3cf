using System.Net;
using System.Text.Json;

namespace Persona.Server.Tests;

public sealed class SearchApiTests : IClassFixture<PersonaAppFactory>
{
    private readonly HttpClient _client;

    public SearchApiTests(PersonaAppFactory factory) => _client = factory.CreateClient();

    private async Task SeedAsync()
    {
        string[] items =
        [
            "s-l1|matte lipstick|Alpha|12",
            "s-l2|matte lipstick|Beta|18",
            "s-l3|matte lipstick|Gamma|60",
            "s-l4|velvet lipstick|Beta|30",
        ];
        foreach (var line in items)
        {
            var f = line.Split('|');
            var put = await _client.PutAsync($"/v1/items/{f[0]}", HttpJson.Body(
                $"{{\"title\":\"{f[1]}\",\"brand\":\"{f[2]}\",\"price\":{f[3]},\"category_path\":\"Makeup > Lips > Lipstick\",\"attributes\":{{\"brand_zh\":\"{f[2]}牌\"}}}}"));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }
        var events = string.Join(",", Enumerable.Range(0, 4).Select(i =>
            $"{{\"id\":\"s-ev-{i}\",\"user_id\":\"s-fan\",\"type\":\"purchase\",\"item_id\":\"s-l4\",\"timestamp\":\"2026-10-0{i + 1}T10:00:00Z\"}}"));
        var posted = await _client.PostAsync("/v1/events", HttpJson.Body($"[{events}]"));
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());
    }

    private static string[] Ids(JsonElement body) =>
        body.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("item_id").GetString()!).ToArray();

    [Fact]
    public async Task Search_WithUser_ReturnsBreakdownReasonAndParsedQuery()
    {
        await SeedAsync();

        var response = await _client.GetAsync("/v1/search?q=matte%20lipstick%20under%2050&user=s-fan&n=10");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.True(body.GetProperty("personalized").GetBoolean());
        Assert.Equal(50, body.GetProperty("query").GetProperty("price_max").GetDouble());
        Assert.Equal("matte lipstick", body.GetProperty("query").GetProperty("text").GetString());
        var first = body.GetProperty("items")[0];
        Assert.Equal("s-l2", first.GetProperty("item_id").GetString());
        var breakdown = first.GetProperty("breakdown");
        Assert.True(breakdown.GetProperty("lexical").GetDouble() > 0);
        Assert.True(breakdown.GetProperty("personal").GetDouble() > 0);
        Assert.True(breakdown.TryGetProperty("semantic", out _));
        Assert.Contains("Beta", first.GetProperty("reason").GetProperty("en").GetString(), StringComparison.Ordinal);
        Assert.Contains("Beta牌", first.GetProperty("reason").GetProperty("zh").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s-l3", Ids(body));
    }

    [Fact]
    public async Task Search_PersonalizeFalse_GivesAnonymousOrder()
    {
        await SeedAsync();

        var anonymous = await (await _client.GetAsync("/v1/search?q=lipstick")).ReadJsonAsync();
        var off = await (await _client.GetAsync("/v1/search?q=lipstick&user=s-fan&personalize=false")).ReadJsonAsync();
        var on = await (await _client.GetAsync("/v1/search?q=lipstick&user=s-fan")).ReadJsonAsync();

        Assert.False(off.GetProperty("personalized").GetBoolean());
        Assert.Equal(Ids(anonymous), Ids(off));
        Assert.NotEqual(Ids(anonymous), Ids(on));
    }

    [Fact]
    public async Task Search_PostedEvent_ReachesTheSearchersNextResults()
    {
        await SeedAsync();
        await PostPurchasesAsync("s-switch", "s-l3", 2);
        var before = await PersonalOfAsync("s-switch", "s-l1");

        await PostPurchasesAsync("s-switch", "s-l1", 3);

        Assert.True(await PersonalOfAsync("s-switch", "s-l1") > before);
    }

    private async Task PostPurchasesAsync(string user, string item, int count)
    {
        var events = string.Join(",", Enumerable.Range(0, count).Select(i =>
            $"{{\"user_id\":\"{user}\",\"type\":\"purchase\",\"item_id\":\"{item}\",\"timestamp\":\"2026-10-{i + 10}T10:00:00Z\"}}"));
        var posted = await _client.PostAsync("/v1/events", HttpJson.Body($"[{events}]"));
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());
    }

    private async Task<double> PersonalOfAsync(string user, string item)
    {
        var body = await (await _client.GetAsync($"/v1/search?q=lipstick&user={user}&n=10")).ReadJsonAsync();
        return body.GetProperty("items").EnumerateArray()
            .Single(i => i.GetProperty("item_id").GetString() == item)
            .GetProperty("breakdown").GetProperty("personal").GetDouble();
    }

    [Fact]
    public async Task Search_ItemUpserted_VisibleToNextQuery()
    {
        Assert.Empty(Ids(await (await _client.GetAsync("/v1/search?q=tourmaline")).ReadJsonAsync()));

        await _client.PutAsync("/v1/items/s-new", HttpJson.Body("{\"title\":\"tourmaline brush\",\"price\":9}"));

        Assert.Equal(["s-new"], Ids(await (await _client.GetAsync("/v1/search?q=tourmaline")).ReadJsonAsync()));
    }

    [Theory]
    [InlineData("/v1/search", "q")]
    [InlineData("/v1/search?q=%20", "q")]
    [InlineData("/v1/search?q=lipstick&n=0", "n")]
    [InlineData("/v1/search?q=lipstick&priceMax=-1", "priceMax")]
    public async Task Search_InvalidParameters_Returns400NamingThem(string url, string field)
    {
        var response = await _client.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, (await response.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(p => p.Name));
    }
}
