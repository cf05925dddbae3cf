using System.Net;

namespace Persona.Server.Tests;

public sealed class CatalogApiTests : IClassFixture<PersonaAppFactory>
{
    private readonly PersonaAppFactory _factory;
    private readonly HttpClient _client;

    public CatalogApiTests(PersonaAppFactory factory)
    {
        _factory = factory;
        _client = factory.CreateClient();
    }

    [Fact]
    public async Task PutItem_ThenGet_RoundTripsEveryField()
    {
        var put = await _client.PutAsync("/v1/items/sku-1", HttpJson.Body(
            "{\"title\":\"Running Shoe\",\"description\":\"Light\",\"category_path\":\"Sports > Shoes\",\"brand\":\"Fleet\",\"price\":399.5,\"currency\":\"CNY\",\"attributes\":{\"title_zh\":\"跑鞋\",\"size\":42},\"available\":false}"));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var item = await (await _client.GetAsync("/v1/items/sku-1")).ReadJsonAsync();

        Assert.Equal("Running Shoe", item.GetProperty("title").GetString());
        Assert.Equal(["Sports", "Shoes"], item.GetProperty("category_path").EnumerateArray().Select(x => x.GetString()!).ToArray());
        Assert.Equal(399.5, item.GetProperty("price").GetDouble());
        Assert.Equal("跑鞋", item.GetProperty("attributes").GetProperty("title_zh").GetString());
        Assert.Equal("42", item.GetProperty("attributes").GetProperty("size").GetString());
        Assert.False(item.GetProperty("available").GetBoolean());
    }

    [Fact]
    public async Task PutItem_Twice_ReplacesIt()
    {
        await _client.PutAsync("/v1/items/sku-2", HttpJson.Body("{\"title\":\"Old\",\"price\":1}"));
        await _client.PutAsync("/v1/items/sku-2", HttpJson.Body("{\"title\":\"New\",\"price\":2}"));

        var item = await (await _client.GetAsync("/v1/items/sku-2")).ReadJsonAsync();

        Assert.Equal("New", item.GetProperty("title").GetString());
    }

    [Theory]
    [InlineData("{\"title\":\"x\",\"price\":-1}", "price")]
    [InlineData("{\"title\":\"x\",\"price\":\"cheap\"}", "price")]
    [InlineData("{\"title\":\"x\",\"category_path\":5}", "category_path")]
    [InlineData("{\"title\":\"x\",\"attributes\":[1]}", "attributes")]
    [InlineData("{\"id\":\"other\",\"title\":\"x\"}", "id")]
    [InlineData("[]", "body")]
    public async Task PutItem_Invalid_Returns400NamingFieldAndStoresNothing(string body, string field)
    {
        var response = await _client.PutAsync("/v1/items/bad-item", HttpJson.Body(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, (await response.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(p => p.Name));
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/v1/items/bad-item")).StatusCode);
    }

    [Fact]
    public async Task PutUser_ThenGet_RoundTripsConsent()
    {
        var put = await _client.PutAsync("/v1/users/user-c", HttpJson.Body("{\"age_band\":\"25-34\",\"region\":\"Shanghai\",\"consent\":{\"personalization\":true,\"marketing\":false}}"));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var user = await (await _client.GetAsync("/v1/users/user-c")).ReadJsonAsync();

        Assert.Equal("25-34", user.GetProperty("age_band").GetString());
        Assert.False(user.GetProperty("consent").GetProperty("marketing").GetBoolean());
        Assert.True(user.GetProperty("consent").GetProperty("personalization").GetBoolean());
    }

    [Theory]
    [InlineData("{\"signup_at\":\"2999-01-01T00:00:00Z\"}", "signup_at")]
    [InlineData("{\"consent\":{\"marketing\":\"no\"}}", "consent.marketing")]
    [InlineData("{\"consent\":true}", "consent")]
    public async Task PutUser_Invalid_Returns400NamingField(string body, string field)
    {
        var response = await _client.PutAsync("/v1/users/bad-user", HttpJson.Body(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, (await response.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(p => p.Name));
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/v1/users/bad-user")).StatusCode);
    }

    [Fact]
    public async Task GetProfile_PersonalizationConsentWithdrawn_NoProfile()
    {
        await _client.PutAsync("/v1/users/private-user", HttpJson.Body("{\"consent\":{\"personalization\":false}}"));
        await _client.PostAsync("/v1/events", HttpJson.Body("[{\"user_id\":\"private-user\",\"type\":\"view\",\"item_id\":\"i1\",\"timestamp\":\"2026-01-01T00:00:00Z\"}]"));

        var response = await _client.GetAsync("/v1/users/private-user/profile");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("consent", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Health_ReportsCounts()
    {
        var health = await (await _client.GetAsync("/health")).ReadJsonAsync();

        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.True(health.GetProperty("stats").TryGetProperty("events", out _));
    }

    [Fact]
    public async Task OpenApi_DocumentListsEndpoints()
    {
        var document = await (await _client.GetAsync("/openapi/v1.json")).ReadJsonAsync();

        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/v1/events", paths);
        Assert.Contains("/v1/items/{id}", paths);
        Assert.Contains("/v1/users/{id}/profile", paths);
        Assert.Contains("/health", paths);
        Assert.Contains("/v1/admin/models", paths);
        Assert.Contains("/v1/admin/models/{version}/promote", paths);
        Assert.Contains("/v1/admin/models/rollback", paths);
    }
}
