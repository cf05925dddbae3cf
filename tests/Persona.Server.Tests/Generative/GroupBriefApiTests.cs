extern alias cli;

using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Persona.Hosting.Generative;

namespace Persona.Server.Tests.Generative;

/// <summary>Names and briefs of segments and audiences: the template, an admin's, and a checked model's.</summary>
public sealed class GroupBriefApiTests
{
    private static async Task<(PersonaAppFactory App, HttpClient Client, JsonElement Segments)> ShopAsync(FakeChatServer? server)
    {
        var app = new PersonaAppFactory();
        app.Settings["Persona:Models:RefreshOnStart"] = "false";
        if (server is not null)
        {
            app.Settings["Persona:Generative:BaseUrl"] = server.BaseUrl;
            app.Settings["Persona:Generative:Model"] = "qwen-test";
            // Summaries are not under test here: keep the fake's requests to briefs.
            app.Settings["Persona:Generative:Summaries"] = "false";
        }
        var client = app.CreateClient();
        await AudienceShopFactory.SeedAsync(app.Engine);
        using (var refresh = await client.PostAsync("/v1/segments/refresh", null)) refresh.EnsureSuccessStatusCode();
        using var segments = await client.GetAsync("/v1/segments");
        Assert.True(segments.IsSuccessStatusCode, await segments.Content.ReadAsStringAsync());
        return (app, client, await segments.ReadJsonAsync());
    }

    /// <summary>The segment with the most members (so over k and with dominant tags).</summary>
    private static string Largest(JsonElement segments) =>
        segments.GetProperty("segments").EnumerateArray().OrderByDescending(s => s.GetProperty("size").GetInt32()).First().GetProperty("id").GetString()!;

    private static FakeReply EchoBrief(JsonElement request)
    {
        var facts = JsonDocument.Parse(request.GetProperty("messages")[1].GetProperty("content").GetString()!).RootElement;
        var tags = facts.GetProperty("tags").EnumerateArray().ToList();
        return FakeReply.Say(JsonSerializer.Serialize(new
        {
            name_en = tags[0].GetProperty("en").GetString() + " crowd",
            name_zh = tags[0].GetProperty("zh").GetString() + "人群",
            brief_en = "Mostly " + string.Join(" and ", tags.Select(t => t.GetProperty("en").GetString())) + ".",
            brief_zh = string.Join("、", tags.Select(t => t.GetProperty("zh").GetString())) + "。",
            claims = tags.Select(t => t.GetProperty("key").GetString()),
        }), model: "qwen-brief");
    }

    [Fact]
    public async Task WithoutAnEndpoint_EverySegmentHasATemplateBrief_FromItsDominantTags()
    {
        var (app, client, segments) = await ShopAsync(server: null);
        await using var _ = app;
        using var __ = client;

        var briefs = segments.GetProperty("briefs").EnumerateArray().ToList();
        Assert.Equal(segments.GetProperty("segments").GetArrayLength(), briefs.Count);
        Assert.All(briefs, b => Assert.Equal("template", b.GetProperty("source").GetString()));
        var id = Largest(segments);
        var brief = await (await client.GetAsync($"/v1/segments/{id}/brief")).ReadJsonAsync();
        var label = segments.GetProperty("segments").EnumerateArray().First(s => s.GetProperty("id").GetString() == id).GetProperty("label_en").GetString();
        Assert.Equal(label, brief.GetProperty("name_en").GetString());
        var dominant = brief.GetProperty("dominant_tags").EnumerateArray().ToList();
        Assert.NotEmpty(dominant);
        Assert.All(dominant, t => Assert.InRange(t.GetProperty("confidence").GetDouble(), 0.2, 1));
        Assert.Contains(dominant[0].GetProperty("en").GetString()!, brief.GetProperty("brief_en").GetString(), StringComparison.Ordinal);
        Assert.False(brief.GetProperty("pending").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/segments/no-such/brief")).StatusCode);
    }

    [Fact]
    public async Task AnAdmin_WritesABrief_ThatStandsUntilCleared_AndIsAudited()
    {
        var (app, client, segments) = await ShopAsync(server: null);
        await using var _ = app;
        using var __ = client;
        var id = Largest(segments);

        using var bad = await client.PutAsync($"/v1/segments/{id}/brief", HttpJson.Body("""{"name_en":"Night shoppers","name_zh":"","brief_en":"x"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var fields = (await bad.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["name_zh", "brief_zh"], fields);

        using var put = await client.PutAsync($"/v1/segments/{id}/brief", HttpJson.Body(
            """{"name_en":"Night shoppers","name_zh":"夜间购物者","brief_en":"Send offers after 10 pm.","brief_zh":"晚上十点后推送优惠。"}"""));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        var brief = await (await client.GetAsync($"/v1/segments/{id}/brief")).ReadJsonAsync();
        Assert.Equal("admin", brief.GetProperty("source").GetString());
        Assert.Equal("夜间购物者", brief.GetProperty("name_zh").GetString());
        var audit = await (await client.GetAsync("/v1/admin/audit?limit=5")).ReadJsonAsync();
        Assert.Contains(audit.EnumerateArray(), e => e.GetProperty("action").GetString() == "edit_brief" && e.GetProperty("target").GetString() == $"segment:{id}");

        using var cleared = await client.DeleteAsync($"/v1/segments/{id}/brief");
        Assert.Equal("template", (await cleared.ReadJsonAsync()).GetProperty("source").GetString());
    }

    [Fact]
    public async Task WithAnEndpoint_SegmentsAndAudiencesAreBriefedByTheModel_FromSharesOnly()
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = EchoBrief;
        var (app, client, segments) = await ShopAsync(server);
        await using var _ = app;
        using var __ = client;
        var id = Largest(segments);

        var brief = await WaitForModelAsync(client, $"/v1/segments/{id}/brief");
        Assert.Equal("qwen-brief", brief.GetProperty("model").GetString());
        Assert.EndsWith(" crowd", brief.GetProperty("name_en").GetString(), StringComparison.Ordinal);

        using var created = await client.PostAsync("/v1/audiences", HttpJson.Body("""{"name":"Everyone","min_count":5}"""));
        created.EnsureSuccessStatusCode();
        var audience = (await created.ReadJsonAsync()).GetProperty("id").GetString();
        var audienceBrief = await WaitForModelAsync(client, $"/v1/audiences/{audience}/brief");
        Assert.Equal("audience", audienceBrief.GetProperty("kind").GetString());

        foreach (var (_, _, body) in server.Requests)
        {
            Assert.Equal("qwen-test", body.GetProperty("model").GetString());
            // Shares and labels only: no shopper id (u00 … u69) and no member count.
            Assert.DoesNotMatch("\\bu[0-9]{2}\\b", body.GetProperty("messages")[1].GetProperty("content").GetString()!);
        }
    }

    [Fact]
    public async Task AnInventedCategory_IsRefused_AndTheTemplateAnswers()
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = _ => FakeReply.Say("""{"name_en":"Gadget fans","name_zh":"数码迷","brief_en":"They love Kitchen gadgets.","brief_zh":"喜欢厨房。","claims":[]}""");
        var (app, client, segments) = await ShopAsync(server);
        await using var _ = app;
        using var __ = client;
        var id = Largest(segments);
        var briefs = app.Services.GetRequiredService<GroupBriefs>();

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (briefs.Figures.Rejected == 0 && DateTime.UtcNow < deadline) await Task.Delay(100);

        Assert.True(briefs.Figures.Rejected > 0, "the invented brief was not refused");
        var brief = await (await client.GetAsync($"/v1/segments/{id}/brief")).ReadJsonAsync();
        Assert.NotEqual("model", brief.GetProperty("source").GetString());
    }

    private static async Task<JsonElement> WaitForModelAsync(HttpClient client, string url)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var brief = await (await client.GetAsync(url)).ReadJsonAsync();
            if (brief.GetProperty("source").GetString() == "model") return brief;
            Assert.True(DateTime.UtcNow < deadline, "no model brief: " + brief);
            await Task.Delay(100);
        }
    }
}

/// <summary><c>persona segments</c> prints each segment's brief as the server serves it.</summary>
public sealed class GroupBriefCliTests
{
    [Fact]
    public async Task Segments_PrintsTheAdminsBrief()
    {
        var data = Path.Combine(Path.GetTempPath(), "persona-cli-briefs", Guid.NewGuid().ToString("n"));
        try
        {
            string id;
            await using (var app = new PersonaAppFactory())
            {
                app.Settings["Persona:DataDirectory"] = data;
                app.Settings["Persona:Models:RefreshOnStart"] = "false";
                using var client = app.CreateClient();
                await AudienceShopFactory.SeedAsync(app.Engine);
                using (var refresh = await client.PostAsync("/v1/segments/refresh", null)) refresh.EnsureSuccessStatusCode();
                id = (await (await client.GetAsync("/v1/segments")).ReadJsonAsync()).GetProperty("segments")[0].GetProperty("id").GetString()!;
                using var put = await client.PutAsync($"/v1/segments/{id}/brief", HttpJson.Body(
                    """{"name_en":"Weekend browsers","name_zh":"周末逛店者","brief_en":"Show them new arrivals on Saturday.","brief_zh":"周六推荐新品。"}"""));
                put.EnsureSuccessStatusCode();
            }

            var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(typeof(cli::Persona.Cli.PersonaCli).Assembly.Location);
            foreach (var a in new[] { "segments", "--data", data }) start.ArgumentList.Add(a);
            using var process = System.Diagnostics.Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();

            Assert.True(process.ExitCode == 0, await error);
            Assert.Contains($"{id} · Weekend browsers / 周末逛店者 (admin): Show them new arrivals on Saturday. / 周六推荐新品。", await output, StringComparison.Ordinal);
            Assert.Contains("(template)", await output, StringComparison.Ordinal);
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
