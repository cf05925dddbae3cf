extern alias cli;

using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Persona.Hosting.Generative;

namespace Persona.Server.Tests.Generative;

/// <summary>Profile summaries through the real server, against a fake OpenAI-compatible endpoint that checks what it is sent.</summary>
public sealed class ProfileSummaryApiTests
{
    private const string Shopper = "shopper-7";

    private static PersonaAppFactory App(FakeChatServer? server, int queue = 10_000)
    {
        var app = new PersonaAppFactory();
        if (server is not null)
        {
            app.Settings["Persona:Generative:BaseUrl"] = server.BaseUrl;
            app.Settings["Persona:Generative:Model"] = "qwen-test";
            app.Settings["Persona:Generative:TimeoutSeconds"] = "2";
            app.Settings["Persona:Generative:SummaryQueueCapacity"] = queue.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return app;
    }

    private static async Task SeedAsync(HttpClient client, string user = Shopper)
    {
        for (var i = 0; i < 6; i++)
        {
            (await client.PutAsync($"/v1/items/lip-{i}", HttpJson.Body(
                $$"""{"title":"Acme Velvet Lipstick {{i}}","category_path":["Beauty","Makeup","Lipstick"],"brand":"Acme","price":{{20 + i}}}"""))).EnsureSuccessStatusCode();
            (await client.PutAsync($"/v1/items/cream-{i}", HttpJson.Body(
                $$"""{"title":"Zenith Hydra Cream {{i}}","category_path":["Beauty","Skin Care","Moisturizer"],"brand":"Zenith","price":{{30 + i}}}"""))).EnsureSuccessStatusCode();
        }
        await PostEventsAsync(client, user, 0, 10);
    }

    private static async Task PostEventsAsync(HttpClient client, string user, int from, int count)
    {
        var now = DateTimeOffset.UtcNow.AddHours(-2);
        var events = Enumerable.Range(from, count).Select(i => (object)new
        {
            event_id = $"ev-{user}-{i}", user_id = user, type = i % 3 == 0 ? "purchase" : "view", item_id = $"lip-{i % 6}", value = 25.0, timestamp = now.AddMinutes(i),
        }).ToArray();
        using var response = await client.PostAsync("/v1/events", HttpJson.Body(JsonSerializer.Serialize(new { events })));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A model that does as it is told: its sentences are the tags' own labels, its claims their keys.</summary>
    private static FakeReply Echo(JsonElement request)
    {
        var facts = JsonDocument.Parse(request.GetProperty("messages")[1].GetProperty("content").GetString()!).RootElement;
        var tags = facts.GetProperty("tags").EnumerateArray().ToList();
        return FakeReply.Say(JsonSerializer.Serialize(new
        {
            en = string.Join(" ", tags.Select(t => t.GetProperty("en").GetString() + ".")),
            zh = string.Join("", tags.Select(t => t.GetProperty("zh").GetString() + "。")),
            claims = tags.Select(t => t.GetProperty("key").GetString()),
        }), model: "qwen-test-7b");
    }

    private static async Task<JsonElement> SummaryAsync(HttpClient client, string user = Shopper)
    {
        using var response = await client.GetAsync($"/v1/users/{user}/profile");
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.ReadJsonAsync()).GetProperty("summary");
    }

    private static async Task<JsonElement> WaitForAsync(HttpClient client, Func<JsonElement, bool> done, string user = Shopper)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var summary = await SummaryAsync(client, user);
            if (done(summary)) return summary;
            Assert.True(DateTime.UtcNow < deadline, "The summary never got there: " + summary);
            await Task.Delay(100);
        }
    }

    private static async Task DrainAsync(PersonaAppFactory app)
    {
        var summaries = app.Services.GetRequiredService<ProfileSummaries>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (summaries.Figures.Queued > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        await Task.Delay(300); // the last one taken from the queue finishes
    }

    [Fact]
    public async Task WithoutAnEndpoint_TheSummaryIsTheTemplate_AndNothingIsQueued()
    {
        await using var app = App(server: null);
        using var client = app.CreateClient();
        await SeedAsync(client);

        var summary = await SummaryAsync(client);

        Assert.Equal("template", summary.GetProperty("source").GetString());
        Assert.False(summary.GetProperty("pending").GetBoolean());
        Assert.Contains("Likes Lipstick", summary.GetProperty("en").GetString(), StringComparison.Ordinal);
        Assert.Contains("偏好", summary.GetProperty("zh").GetString(), StringComparison.Ordinal);
        using var refresh = await client.PostAsync($"/v1/users/{Shopper}/summary", null);
        Assert.Equal(HttpStatusCode.Conflict, refresh.StatusCode);
    }

    [Fact]
    public async Task AChangedProfile_IsSummarisedInTheBackground_FromLabelsOnly_AndKeptUntilItsTagsChange()
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = Echo;
        await using var app = App(server);
        using var client = app.CreateClient();
        await SeedAsync(client);

        var summary = await WaitForAsync(client, s => s.GetProperty("source").GetString() == "model");

        Assert.Equal("qwen-test-7b", summary.GetProperty("model").GetString());
        Assert.Equal(1, summary.GetProperty("version").GetInt32());
        Assert.False(summary.GetProperty("pending").GetBoolean());
        Assert.Contains("Likes Lipstick.", summary.GetProperty("en").GetString(), StringComparison.Ordinal);
        Assert.Contains("category:Beauty > Makeup > Lipstick", summary.GetProperty("claims").EnumerateArray().Select(c => c.GetString()));
        var (path, _, body) = Assert.Single(server.Requests);
        Assert.Equal("/v1/chat/completions", path);
        Assert.Equal("qwen-test", body.GetProperty("model").GetString());
        var sent = body.GetRawText();
        Assert.DoesNotContain(Shopper, sent, StringComparison.Ordinal);
        Assert.DoesNotContain("ev-", sent, StringComparison.Ordinal);
        Assert.Contains("Acme Velvet Lipstick", sent, StringComparison.Ordinal);

        // Asked again with the same tags: the stored summary stands and the model is not called.
        using (var again = await client.PostAsync($"/v1/users/{Shopper}/summary", null))
            Assert.Equal(1, (await again.ReadJsonAsync()).GetProperty("version").GetInt32());
        Assert.Single(server.Requests);
        var figures = (await (await client.GetAsync("/v1/admin/generative")).ReadJsonAsync()).GetProperty("summary_figures");
        Assert.Equal(1, figures.GetProperty("generated").GetInt64());
        Assert.True(figures.GetProperty("unchanged").GetInt64() >= 1);

        // A new interest is a new tag: summarised again, as version 2.
        var now = DateTimeOffset.UtcNow.AddHours(-1);
        using (var creams = await client.PostAsync("/v1/events", HttpJson.Body(JsonSerializer.Serialize(new
        {
            events = Enumerable.Range(0, 30).Select(i => new { user_id = Shopper, type = "purchase", item_id = $"cream-{i % 6}", value = 31.0, timestamp = now.AddMinutes(i) }),
        }))))
            creams.EnsureSuccessStatusCode();
        var second = await WaitForAsync(client, s => s.GetProperty("version").GetInt32() == 2);
        Assert.Contains("category:Beauty > Skin Care > Moisturizer", second.GetProperty("claims").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task AShopperWithoutConsent_IsNeverSent()
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = Echo;
        await using var app = App(server);
        using var client = app.CreateClient();
        (await client.PutAsync("/v1/users/private-1", HttpJson.Body("""{"consent":{"personalization":false}}"""))).EnsureSuccessStatusCode();
        await SeedAsync(client, user: "private-1");

        await DrainAsync(app);

        Assert.Empty(server.Requests);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/users/private-1/profile")).StatusCode);
    }

    [Fact]
    public async Task AnInventedBrand_IsRefused_TheTemplateAnswers_AndTheModelIsNotAskedAgainForTheSameTags()
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = _ => FakeReply.Say("""{"en":"Likes Lipstick and buys Zenith creams.","zh":"偏好 口红。","claims":[]}""");
        await using var app = App(server);
        using var client = app.CreateClient();
        await SeedAsync(client);
        await DrainAsync(app);

        var summary = await SummaryAsync(client);
        await DrainAsync(app);

        Assert.Equal("template", summary.GetProperty("source").GetString());
        Assert.False(summary.GetProperty("pending").GetBoolean());
        Assert.Single(server.Requests);
        var figures = app.Services.GetRequiredService<ProfileSummaries>().Figures;
        Assert.Equal(1, figures.Rejected);
        Assert.Contains("Zenith", figures.LastRejection, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(500, 0)]
    [InlineData(200, 5)]
    public async Task AFailingOrSlowEndpoint_LeavesTheTemplate_AndAsksAgainLater(int status, int delaySeconds)
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = request => status == 200 ? Echo(request) with { Delay = TimeSpan.FromSeconds(delaySeconds) } : new FakeReply(status, """{"error":{"message":"down"}}""");
        await using var app = App(server);
        using var client = app.CreateClient();
        await SeedAsync(client);
        await DrainAsync(app);
        await Task.Delay(delaySeconds > 0 ? 2_000 : 0);

        var summary = await SummaryAsync(client);

        Assert.Equal("template", summary.GetProperty("source").GetString());
        Assert.True(summary.GetProperty("pending").GetBoolean());
        var figures = app.Services.GetRequiredService<ProfileSummaries>().Figures;
        Assert.True(figures.Failed >= 1, figures.ToString());
        Assert.Contains(status == 500 ? "HTTP 500" : "did not answer within", figures.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Erasure_RemovesTheStoredSummary()
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = Echo;
        await using var app = App(server);
        using var client = app.CreateClient();
        await SeedAsync(client);
        await WaitForAsync(client, s => s.GetProperty("source").GetString() == "model");
        Assert.NotNull(await app.Engine.Store.GetDocumentAsync(ProfileSummaries.DocumentKind, Shopper));

        using var erase = await client.DeleteAsync($"/v1/users/{Shopper}");

        erase.EnsureSuccessStatusCode();
        Assert.True((await erase.ReadJsonAsync()).GetProperty("documents_rewritten").GetInt32() >= 1);
        Assert.Null(await app.Engine.Store.GetDocumentAsync(ProfileSummaries.DocumentKind, Shopper));
    }

    [Fact]
    public async Task AnAdmin_CanAskForASummaryNow()
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = Echo;
        // A queue of one: the seeding's shoppers may not all fit; the admin's request does not wait for the queue.
        await using var app = App(server, queue: 1);
        using var client = app.CreateClient();
        await SeedAsync(client);

        using var response = await client.PostAsync($"/v1/users/{Shopper}/summary", null);

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var summary = await response.ReadJsonAsync();
        Assert.Equal("model", summary.GetProperty("source").GetString());
        Assert.Contains("Loyal to Acme", summary.GetProperty("en").GetString(), StringComparison.Ordinal);
    }
}

/// <summary><c>persona profile --summarize</c> in its own process, pointed at the fake endpoint by its environment.</summary>
public sealed class ProfileSummaryCliTests
{
    [Fact]
    public async Task ProfileSummarize_AsksTheEndpoint_AndPrintsTheModelSummary()
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = request => FakeReply.Say(JsonSerializer.Serialize(new { en = "Likes Lipstick, nothing else.", zh = "偏好 Lipstick。", claims = Array.Empty<string>() }), model: "cli-model");
        var data = Path.Combine(Path.GetTempPath(), "persona-cli-summary", Guid.NewGuid().ToString("n"));
        try
        {
            await using (var app = new PersonaAppFactory())
            {
                app.Settings["Persona:DataDirectory"] = data;
                using var client = app.CreateClient();
                for (var i = 0; i < 4; i++)
                    (await client.PutAsync($"/v1/items/lip-{i}", HttpJson.Body($$"""{"title":"Velvet Lipstick {{i}}","category_path":["Beauty","Makeup","Lipstick"],"brand":"Acme","price":20}"""))).EnsureSuccessStatusCode();
                var now = DateTimeOffset.UtcNow.AddHours(-1);
                (await client.PostAsync("/v1/events", HttpJson.Body(JsonSerializer.Serialize(new
                {
                    events = Enumerable.Range(0, 8).Select(i => new { user_id = "cli-shopper", type = "purchase", item_id = $"lip-{i % 4}", value = 20.0, timestamp = now.AddMinutes(i) }),
                })))).EnsureSuccessStatusCode();
            }

            var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(typeof(cli::Persona.Cli.PersonaCli).Assembly.Location);
            foreach (var a in new[] { "profile", "--data", data, "cli-shopper", "--json", "--summarize" }) start.ArgumentList.Add(a);
            start.Environment["Persona__Generative__BaseUrl"] = server.BaseUrl;
            start.Environment["Persona__Generative__Model"] = "qwen-cli";
            using var process = System.Diagnostics.Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();

            Assert.True(process.ExitCode == 0, await error);
            var summary = JsonDocument.Parse(await output).RootElement.GetProperty("summary");
            Assert.Equal("model", summary.GetProperty("source").GetString());
            Assert.Equal("cli-model", summary.GetProperty("model").GetString());
            Assert.Equal("qwen-cli", Assert.Single(server.Requests).Body.GetProperty("model").GetString());
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
