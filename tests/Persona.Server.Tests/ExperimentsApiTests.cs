using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Persona.Core.Online;
using Persona.Hosting.Online;

namespace Persona.Server.Tests;

public sealed class ExperimentsApiTests
{
    private const string PopularVsPersonal = """
        {"id":"pop-vs-me","name":"Popular vs personalised","surface":"recommendations","min_sample":50,
         "variants":[{"name":"popular","strategy":{"sources":{"popularity":1},"personalize":false}},{"name":"personalised"}]}
        """;

    private static async Task SeedAsync(HttpClient client)
    {
        for (var i = 0; i < 8; i++)
        {
            using var put = await client.PutAsync($"/v1/items/item-{i}", HttpJson.Body(
                $$"""{"title":"Item {{i}}","category_path":["Beauty","{{(i < 4 ? "Makeup" : "Hair")}}"],"price":{{10 + i}}}"""));
            put.EnsureSuccessStatusCode();
        }
        var at = DateTimeOffset.UtcNow.AddHours(-2);
        var events = new List<object>();
        for (var u = 0; u < 30; u++)
        {
            events.Add(new { user_id = $"s{u}", type = "purchase", item_id = $"item-{u % 2}", timestamp = at.AddMinutes(u) });
            events.Add(new { user_id = $"s{u}", type = "view", item_id = $"item-{2 + u % 2}", timestamp = at.AddMinutes(u + 1) });
        }
        await PostAsync(client, events);
    }

    private static async Task PostAsync(HttpClient client, IEnumerable<object> events)
    {
        using var response = await client.PostAsync("/v1/events", HttpJson.Body(JsonSerializer.Serialize(new { events = events.ToArray() })));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement> SendAsync(HttpClient client, HttpMethod method, string url, string? body = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var request = new HttpRequestMessage(method, url) { Content = body is null ? null : HttpJson.Body(body) };
        using var response = await client.SendAsync(request);
        Assert.True(response.StatusCode == expected, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJsonAsync();
    }

    [Fact]
    public async Task AnExperiment_AssignsStably_ServesEachVariantsStrategy_AndReportsFiguresPerVariant()
    {
        await using var app = new PersonaAppFactory();
        using var client = app.CreateClient();
        await SeedAsync(client);

        var created = await SendAsync(client, HttpMethod.Post, "/v1/experiments", PopularVsPersonal, HttpStatusCode.Created);
        Assert.Equal("draft", created.GetProperty("experiment").GetProperty("state").GetString());
        Assert.Equal(0.5, created.GetProperty("experiment").GetProperty("variants")[0].GetProperty("traffic").GetDouble());
        // Before the start nobody is assigned.
        Assert.False((await SendAsync(client, HttpMethod.Get, "/v1/users/s1/recommendations?n=3")).TryGetProperty("variant", out _));

        await SendAsync(client, HttpMethod.Post, "/v1/experiments/pop-vs-me/start");
        var experiment = app.Services.GetRequiredService<ExperimentService>().Get("pop-vs-me")!;
        var now = DateTimeOffset.UtcNow;
        var events = new List<object>();
        for (var u = 0; u < 30; u++)
        {
            var list = await SendAsync(client, HttpMethod.Get, $"/v1/users/s{u}/recommendations?n=3");
            var expected = experiment.Assign($"s{u}").Name;
            Assert.Equal($"pop-vs-me/{expected}", list.GetProperty("variant").GetString());
            // Asked again, the shopper stays in the variant.
            Assert.Equal(list.GetProperty("variant").GetString(), (await SendAsync(client, HttpMethod.Get, $"/v1/users/s{u}/recommendations?n=3")).GetProperty("variant").GetString());
            if (expected == "popular")
            {
                Assert.False(list.GetProperty("personalized").GetBoolean());
                foreach (var item in list.GetProperty("items").EnumerateArray())
                    Assert.Equal(["popularity"], item.GetProperty("sources").EnumerateArray().Select(s => s.GetString()));
            }
            var request = list.GetProperty("request_id").GetString();
            var first = list.GetProperty("items")[0].GetProperty("item_id").GetString();
            events.Add(new { user_id = $"s{u}", type = "impression", item_id = first, request_id = request, position = 1, timestamp = now });
            if (u % 3 == 0) events.Add(new { user_id = $"s{u}", type = "click", item_id = first, request_id = request, position = 1, timestamp = now });
        }
        await PostAsync(client, events);

        var report = await SendAsync(client, HttpMethod.Get, "/v1/experiments/pop-vs-me");
        var variants = report.GetProperty("variants").EnumerateArray().ToList();
        Assert.Equal(["popular", "personalised"], variants.Select(v => v.GetProperty("name").GetString()));
        Assert.Equal(30, variants.Sum(v => v.GetProperty("impressions").GetInt32()));
        Assert.Equal(10, variants.Sum(v => v.GetProperty("clicks").GetInt32()));
        Assert.False(variants[0].TryGetProperty("vs_control", out _));
        var test = variants[1].GetProperty("vs_control").GetProperty("ctr");
        Assert.InRange(test.GetProperty("p_value").GetDouble(), 0, 1);
        // 30 impressions are far below the minimum sample of 50.
        Assert.All(variants, v => Assert.Contains("50", v.GetProperty("warning").GetProperty("en").GetString(), StringComparison.Ordinal));

        var listed = await SendAsync(client, HttpMethod.Get, "/v1/experiments");
        Assert.Equal("pop-vs-me", listed[0].GetProperty("experiment").GetProperty("id").GetString());

        var stopped = await SendAsync(client, HttpMethod.Post, "/v1/experiments/pop-vs-me/stop");
        Assert.Equal("stopped", stopped.GetProperty("experiment").GetProperty("state").GetString());
        Assert.False((await SendAsync(client, HttpMethod.Get, "/v1/users/s1/recommendations?n=3")).TryGetProperty("variant", out _));
        var audit = await app.Engine.Store.ReadAuditAsync(50);
        Assert.Equal(["create_experiment", "start_experiment", "stop_experiment"],
            audit.Where(a => a.Target == "pop-vs-me").OrderBy(a => a.At).Select(a => a.Action));
        Assert.Contains("CTR", audit.Single(a => a.Action == "stop_experiment").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AShopperWithoutPersonalisationConsent_IsNeverAssigned_AndCountedApart()
    {
        await using var app = new PersonaAppFactory();
        using var client = app.CreateClient();
        await SeedAsync(client);
        await SendAsync(client, HttpMethod.Post, "/v1/experiments",
            """{"id":"all-personal","surface":"recommendations","variants":[{"name":"a","traffic":0.5},{"name":"b","traffic":0.5,"strategy":{"diversity":0.5}}]}""",
            HttpStatusCode.Created);
        await SendAsync(client, HttpMethod.Post, "/v1/experiments/all-personal/start");
        using (var put = await client.PutAsync("/v1/users/s3", HttpJson.Body("""{"consent":{"personalization":false}}""")))
            put.EnsureSuccessStatusCode();

        var list = await SendAsync(client, HttpMethod.Get, "/v1/users/s3/recommendations?n=3");
        Assert.Equal("all-personal/(no consent)", list.GetProperty("variant").GetString());
        Assert.False(list.GetProperty("personalized").GetBoolean());
        var report = await SendAsync(client, HttpMethod.Get, "/v1/experiments/all-personal");
        Assert.Equal(0, report.GetProperty("variants").EnumerateArray().Sum(v => v.GetProperty("served").GetInt32()));
        Assert.Equal(list.GetProperty("items").GetArrayLength(), report.GetProperty("excluded").GetProperty("served").GetInt32());
    }

    [Fact]
    public async Task BadExperiments_AreRefused_NamingTheField_AndStatesAreGuarded()
    {
        await using var app = new PersonaAppFactory();
        using var client = app.CreateClient();

        var bad = await SendAsync(client, HttpMethod.Post, "/v1/experiments",
            """{"id":"x","surface":"home","variants":[{"name":"a","traffic":0.5},{"name":"b"}]}""", HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("surface", out _));
        Assert.True(bad.GetProperty("errors").TryGetProperty("variants", out _));
        var sources = await SendAsync(client, HttpMethod.Post, "/v1/experiments",
            """{"id":"x","surface":"search","variants":[{"name":"a"},{"name":"b","strategy":{"sources":{"magic":1}}}]}""", HttpStatusCode.BadRequest);
        Assert.True(sources.GetProperty("errors").TryGetProperty("variants[1].strategy.sources.magic", out _));
        var version = await SendAsync(client, HttpMethod.Post, "/v1/experiments",
            """{"id":"x","surface":"recommendations","variants":[{"name":"a"},{"name":"b","strategy":{"model_version":"seq-never"}}]}""", HttpStatusCode.BadRequest);
        Assert.Contains("seq-never", version.GetProperty("errors").GetProperty("variants[1].strategy.model_version")[0].GetString(), StringComparison.Ordinal);
        var unknown = await SendAsync(client, HttpMethod.Post, "/v1/experiments",
            """{"id":"x","surface":"search","variants":[{"name":"a","colour":"red"},{"name":"b"}]}""", HttpStatusCode.BadRequest);
        Assert.Contains("colour", unknown.GetProperty("errors").ToString(), StringComparison.Ordinal);
        Assert.Empty(app.Services.GetRequiredService<ExperimentService>().List());

        const string Good = """{"id":"s1","surface":"search","variants":[{"name":"a"},{"name":"b","strategy":{"semantic":false}}]}""";
        await SendAsync(client, HttpMethod.Post, "/v1/experiments", Good, HttpStatusCode.Created);
        await SendAsync(client, HttpMethod.Post, "/v1/experiments", Good, HttpStatusCode.Conflict);
        await SendAsync(client, HttpMethod.Post, "/v1/experiments", Good.Replace("\"s1\"", "\"s2\"", StringComparison.Ordinal), HttpStatusCode.Created);
        await SendAsync(client, HttpMethod.Post, "/v1/experiments/s1/stop", expected: HttpStatusCode.Conflict);
        await SendAsync(client, HttpMethod.Post, "/v1/experiments/s1/start");
        var second = await SendAsync(client, HttpMethod.Post, "/v1/experiments/s2/start", expected: HttpStatusCode.Conflict);
        Assert.Contains("one experiment per surface", second.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await SendAsync(client, HttpMethod.Post, "/v1/experiments/nope/start", expected: HttpStatusCode.NotFound);

        // A search for a shopper is served by the shopper's variant; an anonymous one is not in the experiment.
        var search = await SendAsync(client, HttpMethod.Get, "/v1/search?q=item&user=someone");
        Assert.StartsWith("s1/", search.GetProperty("variant").GetString(), StringComparison.Ordinal);
        Assert.False((await SendAsync(client, HttpMethod.Get, "/v1/search?q=item")).TryGetProperty("variant", out _));
        Assert.Equal(OnlineSurface.Search, app.Services.GetRequiredService<ExperimentService>().Get("s1")!.Surface);
    }
}
