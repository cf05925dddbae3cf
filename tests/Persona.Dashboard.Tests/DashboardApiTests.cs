using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Server.Dashboard;

namespace Persona.Dashboard.Tests;

/// <summary>The dashboard's assets and read endpoints over real HTTP (no browser needed).</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardApiTests(DashboardServer server)
{
    [Fact]
    public async Task Root_Get_ServesThePageWithAStrictContentSecurityPolicy()
    {
        using var response = await server.Http.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single());
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("/dashboard/vendor/echarts.min.js", html);
        Assert.DoesNotContain("http", html.Replace("http-equiv", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EChartsAsset_FromNpmInstall_IsEmbeddedAndRevalidatesWithETag()
    {
        using var first = await server.Http.GetAsync(new Uri("/dashboard/vendor/echarts.min.js", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var body = await first.Content.ReadAsByteArrayAsync();
        Assert.True(body.Length > 500_000, $"echarts.min.js is {body.Length} bytes");
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);

        using var again = new HttpRequestMessage(HttpMethod.Get, "/dashboard/vendor/echarts.min.js");
        again.Headers.IfNoneMatch.Add(etag);
        using var second = await server.Http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
    }

    [Fact]
    public async Task Assets_EveryModuleTheShellImports_IsServed()
    {
        var assets = DashboardAssets.Load();
        Assert.Contains("index.html", assets.Paths);
        Assert.Contains("js/app.js", assets.Paths);
        foreach (var path in assets.Paths.Where(p => p.EndsWith(".js", StringComparison.Ordinal) && p.StartsWith("js/", StringComparison.Ordinal)))
        {
            using var response = await server.Http.GetAsync(new Uri("/dashboard/" + path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
            // Every relative import names a file that exists, so no module 404s in the browser.
            var source = await response.Content.ReadAsStringAsync();
            foreach (System.Text.RegularExpressions.Match import in System.Text.RegularExpressions.Regex.Matches(source, @"from '(\.{1,2}/[^']+)'"))
            {
                var target = new Uri(new Uri("http://x/" + path), import.Groups[1].Value).AbsolutePath.TrimStart('/');
                Assert.True(assets.TryGet(target, out _), $"{path} imports missing {target}");
            }
        }
    }

    [Fact]
    public async Task UnknownAsset_Get_IsProblem404()
    {
        using var response = await server.Http.GetAsync(new Uri("/dashboard/js/nope.js", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task UserEvents_Limit_ReturnsNewestFirstWithItems()
    {
        var userId = server.DemoUserIds[0];
        var stored = await server.Engine.Store.GetUserEventsAsync(userId);
        var body = await server.GetJsonAsync($"/v1/users/{userId}/events?limit=5");

        Assert.Equal(stored.Count, body.GetProperty("total").GetInt32());
        var events = body.GetProperty("events").EnumerateArray().ToList();
        var expected = stored.OrderByDescending(e => e.Timestamp).ThenByDescending(e => e.Sequence).Take(5).Select(e => e.Id).ToList();
        Assert.Equal(expected, events.Select(e => e.GetProperty("event").GetProperty("id").GetString()!).ToList());
        Assert.All(events.Where(e => e.GetProperty("event").TryGetProperty("item_id", out _)), e => Assert.True(e.TryGetProperty("item", out var item) && item.GetProperty("title").GetString()!.Length > 0));
    }

    [Fact]
    public async Task UserEvents_IdsOfAnotherUser_AreNotReturned()
    {
        var users = server.DemoUserIds.Take(2).ToList();
        var mine = (await server.Engine.Store.GetUserEventsAsync(users[0])).Take(2).Select(e => e.Id).ToList();
        var theirs = (await server.Engine.Store.GetUserEventsAsync(users[1])).Take(2).Select(e => e.Id).ToList();

        var body = await server.GetJsonAsync($"/v1/users/{users[0]}/events?ids={string.Join(',', mine.Concat(theirs).Select(Uri.EscapeDataString))}");
        var returned = body.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event").GetProperty("id").GetString()!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(mine.Order(StringComparer.Ordinal).ToList(), returned);
    }

    [Fact]
    public async Task UserEvents_UnknownUser_Is404()
    {
        using var response = await server.Http.GetAsync(new Uri("/v1/users/nobody-at-all/events", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task UserEvents_ConsentWithdrawn_Is404WithReason()
    {
        using var put = await server.Http.PutAsJsonAsync("/v1/users/private-shopper", new { consent = new { personalization = false } });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        using var response = await server.Http.GetAsync(new Uri("/v1/users/private-shopper/events", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("consent", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ListUsers_Query_ReturnsMatchingIdsInOrdinalOrder()
    {
        var all = server.Engine.ProfileUsers.ToList();
        var needle = server.DemoUserIds[0][..3];
        var body = await server.GetJsonAsync($"/v1/users?q={needle}&limit=7");
        var expected = all.Where(u => u.Contains(needle, StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Count, body.GetProperty("total").GetInt32());
        Assert.Equal(expected.Take(7).ToList(), body.GetProperty("users").EnumerateArray().Select(u => u.GetString()!).ToList());
    }

    [Fact]
    public async Task Overview_AfterPostingEvents_CountsThemInTheLastMinute()
    {
        var before = (await server.GetJsonAsync("/v1/admin/overview")).GetProperty("events_last_minute").GetInt64();
        var events = Enumerable.Range(0, 25).Select(i => new { id = $"overview-{Guid.NewGuid():n}", user_id = "overview-shopper", type = "view", item_id = "x-1" }).ToArray();
        using var posted = await server.Http.PostAsJsonAsync("/v1/events", events);
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);

        var after = await server.GetJsonAsync("/v1/admin/overview");
        // Other tests may post too; at least these 25 are in the window.
        Assert.True(after.GetProperty("events_last_minute").GetInt64() >= before + 25 || after.GetProperty("events_last_minute").GetInt64() >= 25);
        Assert.Equal(IngestRateMeter.WindowSeconds, after.GetProperty("events_per_second").GetArrayLength());
        Assert.False(string.IsNullOrEmpty(after.GetProperty("models").GetProperty("segment_model").GetString()));
    }

    [Fact]
    public async Task Reports_Stored_ListsEvaluationAndRefreshSummaryButNotModelOutputs()
    {
        var body = await server.GetJsonAsync("/v1/admin/reports");
        var names = body.GetProperty("reports").EnumerateArray().Select(r => $"{r.GetProperty("kind").GetString()}/{r.GetProperty("key").GetString()}").ToList();
        Assert.Contains("evaluation/profiles", names);
        Assert.Contains("models/summary", names);
        Assert.DoesNotContain("models/predictions", names);
        Assert.DoesNotContain("models/segments", names);
        var evaluation = body.GetProperty("reports").EnumerateArray().First(r => r.GetProperty("kind").GetString() == "evaluation");
        Assert.True(evaluation.GetProperty("report").GetProperty("users").GetInt32() > 0);
    }
}
