using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Playwright;
using Persona.Core.Demo;

namespace Persona.Dashboard.Tests;

/// <summary>
/// A dashboard server of its own for the online figures: its test serves answers, posts what shoppers did with them and
/// runs an experiment, which the shared fixture's pages must not see.
/// </summary>
public sealed class OnlineDashboardServer : DashboardServer
{
    public OnlineDashboardServer()
        : base(["--Persona:Security:Open=true"], new DemoOptions { Users = 60, Items = 240, Days = 60, TargetEventsPerUser = 30 })
    {
    }
}

[CollectionDefinition(Name)]
public sealed class OnlineDashboardCollection : ICollectionFixture<OnlineDashboardServer>
{
    public const string Name = "dashboard-online";
}

/// <summary>The Online page: hourly CTR per surface, the table by source and position, and an experiment, in both languages.</summary>
[Collection(OnlineDashboardCollection.Name)]
public sealed class OnlinePageTests(OnlineDashboardServer server)
{
    private static readonly CultureInfo En = CultureInfo.GetCultureInfo("en-US");
    private const string ExperimentId = "pop-vs-me";

    private static string Pct(double value) => (value * 100).ToString("0.0", En) + "%";

    private async Task PostAsync(string path, object? body, HttpStatusCode expected)
    {
        using var response = await server.Http.PostAsJsonAsync(path, body ?? new { });
        Assert.True(response.StatusCode == expected, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Serves recommendations to demo shoppers until both variants have some, and posts impressions, clicks and purchases for them.</summary>
    private async Task<int> ServeAndRespondAsync()
    {
        var now = DateTimeOffset.UtcNow;
        var events = new List<object>();
        var shoppers = new Dictionary<string, int>();
        var impressions = 0;
        foreach (var user in server.DemoUserIds)
        {
            var list = await server.GetJsonAsync($"/v1/users/{Uri.EscapeDataString(user)}/recommendations?n=10");
            var variant = list.GetProperty("variant").GetString()!;
            var seen = shoppers.GetValueOrDefault(variant);
            shoppers[variant] = seen + 1;
            var request = list.GetProperty("request_id").GetString()!;
            var items = list.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("item_id").GetString()!).Take(5).ToList();
            impressions += items.Count;
            for (var p = 0; p < items.Count; p++)
                events.Add(new { user_id = user, type = "impression", item_id = items[p], request_id = request, position = p + 1, timestamp = now });
            // The personalised variant gets more clicks than the control, so the two differ.
            if (items.Count > 0 && seen % (variant.EndsWith("/popular", StringComparison.Ordinal) ? 4 : 2) == 0)
            {
                events.Add(new { user_id = user, type = "click", item_id = items[0], request_id = request, position = 1, timestamp = now });
                if (seen % 4 == 0) events.Add(new { user_id = user, type = "purchase", item_id = items[0], request_id = request, position = 1, timestamp = now });
            }
            if (shoppers.Count == 2 && shoppers.Values.All(n => n >= 10)) break;
        }
        Assert.Equal([$"{ExperimentId}/personalised", $"{ExperimentId}/popular"], shoppers.Keys.Order(StringComparer.Ordinal));
        using var posted = await server.Http.PostAsJsonAsync("/v1/events", new { events });
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());
        return impressions;
    }

    [ChromiumFact]
    public async Task OnlinePage_ShowsHourlyCtrTheSourceTableAndAnExperiment_InBothLanguages_AndStopsIt()
    {
        await using var browser = await server.OpenAsync();
        var page = browser.Page;

        // Nothing served and no experiment yet: both say so.
        await browser.GotoAsync("#/online", "online");
        Assert.Contains("No answers served yet", await page.InnerTextAsync("[data-testid=online-empty]"));
        Assert.Equal(1, await page.Locator("[data-testid=experiments-empty]").CountAsync());

        await PostAsync("/v1/experiments", new
        {
            id = ExperimentId,
            name = "Popular vs personalised",
            surface = "recommendations",
            variants = new object[]
            {
                new { name = "popular", traffic = 0.5, strategy = new { sources = new { popularity = 1 }, personalize = false } },
                new { name = "personalised", traffic = 0.5 },
            },
        }, HttpStatusCode.Created);

        // A draft offers Start; started from the page, it runs on the server.
        await page.ReloadAsync();
        await browser.WaitReadyAsync("online");
        var block = page.Locator($"[data-testid=experiment][data-id='{ExperimentId}']");
        Assert.Equal("draft", (await block.Locator("[data-testid=experiment-state]").InnerTextAsync()).Trim());
        await block.Locator("[data-testid=experiment-start]").ClickAsync();
        await page.WaitForSelectorAsync($"[data-testid=experiment][data-id='{ExperimentId}'][data-state='running']", new PageWaitForSelectorOptions { Timeout = 10_000 });
        Assert.Equal("running", (await server.GetJsonAsync($"/v1/experiments/{ExperimentId}")).GetProperty("experiment").GetProperty("state").GetString());
        var impressions = await ServeAndRespondAsync();

        await page.ReloadAsync();
        await browser.WaitReadyAsync("online");
        var online = await server.GetJsonAsync("/v1/metrics/online?by=surface,source,position");

        // The explanation names the attribution window and the unattributed count the API gives.
        var about = await page.InnerTextAsync("[data-testid=online-about]");
        Assert.Contains($"attribution window of {online.GetProperty("attribution_window_minutes").GetInt32() / 60} h", about);
        Assert.Contains($"{online.GetProperty("unattributed_events").GetInt64().ToString("N0", En)} events matched no answer", about);

        // The hourly chart draws one line per surface served: here recommendations only.
        Assert.Equal(1, await page.Locator("[data-testid=online-chart] canvas").CountAsync());
        var series = await page.EvaluateAsync<string[]>(
            "() => echarts.getInstanceByDom(document.querySelector('[data-testid=online-chart]')).getOption().series.map(s => s.name)");
        Assert.Equal(["Recommendations"], series);
        // Its points are the API's hourly CTRs (in percent), at the API's hours.
        var hourly = (await server.GetJsonAsync("/v1/metrics/online?by=surface,hour")).GetProperty("rows").EnumerateArray().ToList();
        Assert.NotEmpty(hourly);
        var points = await page.EvaluateAsync<double[][]>(
            "() => echarts.getInstanceByDom(document.querySelector('[data-testid=online-chart]')).getOption().series[0].data.filter(p => p[1] != null)");
        Assert.Equal(hourly.Select(r => (double)r.GetProperty("hour").GetDateTimeOffset().ToUnixTimeMilliseconds()), points.Select(p => p[0]));
        Assert.Equal(hourly.Select(r => Math.Round(r.GetProperty("ctr").GetProperty("estimate").GetDouble() * 100, 6)), points.Select(p => Math.Round(p[1], 6)));

        // The table: one row per API row, with the API's CTR; all the impressions posted are in it.
        var rows = online.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(impressions, rows.Where(r => r.GetProperty("surface").GetString() == "recommendations").Sum(r => r.GetProperty("impressions").GetInt32()));
        var table = page.Locator("[data-testid=online-table]");
        Assert.Equal(rows.Count, await table.Locator("tbody tr").CountAsync());
        var first = rows[0];
        var firstRow = table.Locator(
            $"tr[data-surface='recommendations'][data-source='{first.GetProperty("source").GetString()}'][data-position='{first.GetProperty("position").GetString()}']");
        Assert.Equal("Recommendations", (await firstRow.Locator("td").First.InnerTextAsync()).Trim());
        Assert.StartsWith(Pct(first.GetProperty("ctr").GetProperty("estimate").GetDouble()), (await firstRow.Locator("[data-testid=ctr]").InnerTextAsync()).Trim());

        // The experiment: both variants with the API's figures, tested against the control, each below the minimum sample.
        var report = await server.GetJsonAsync($"/v1/experiments/{ExperimentId}");
        Assert.Equal("running", await block.GetAttributeAsync("data-state"));
        Assert.Equal("running", (await block.Locator("[data-testid=experiment-state]").InnerTextAsync()).Trim());
        foreach (var v in report.GetProperty("variants").EnumerateArray())
        {
            var row = block.Locator($"tr[data-variant='{v.GetProperty("name").GetString()}']");
            var text = await row.InnerTextAsync();
            Assert.Contains(v.GetProperty("figures").GetProperty("shown").GetInt32().ToString("N0", En), text);
            Assert.StartsWith(Pct(v.GetProperty("figures").GetProperty("ctr").GetProperty("estimate").GetDouble()), (await row.Locator("[data-testid=ctr]").InnerTextAsync()).Trim());
        }
        Assert.Contains("p ", await block.Locator("tr[data-variant='personalised'] [data-testid=ctr-test]").InnerTextAsync());
        Assert.Equal("—", (await block.Locator("tr[data-variant='popular'] [data-testid=ctr-test]").InnerTextAsync()).Trim());
        var warnings = await block.Locator("[data-testid=sample-warning]").AllInnerTextsAsync();
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.Contains("below the minimum sample of 1,000", w));

        // The last seven days hold the same answers.
        await page.ClickAsync("[data-testid=range-7d]");
        await page.WaitForSelectorAsync("[data-testid=online-panel][data-range='7d'][data-loading='false']");
        Assert.Equal(rows.Count, await table.Locator("tbody tr").CountAsync());
        await browser.ScreenshotAsync("online-en");

        // Chinese: the page's labels, the state and the warning in Chinese.
        await page.ClickAsync("[data-testid=lang-toggle]");
        await browser.WaitReadyAsync("online");
        Assert.Equal("线上效果", (await page.InnerTextAsync("main h1")).Trim());
        Assert.Equal("线上效果", (await page.InnerTextAsync("[data-testid=nav-online]")).Trim());
        Assert.Contains("点击率", await page.InnerTextAsync("[data-testid=online-table] thead"));
        Assert.Contains("归因窗口（24 小时）", await page.InnerTextAsync("[data-testid=online-about]"));
        Assert.Equal(["推荐"], await page.EvaluateAsync<string[]>(
            "() => echarts.getInstanceByDom(document.querySelector('[data-testid=online-chart]')).getOption().series.map(s => s.name)"));
        Assert.Equal("运行中", (await block.Locator("[data-testid=experiment-state]").InnerTextAsync()).Trim());
        Assert.All(await block.Locator("[data-testid=sample-warning]").AllInnerTextsAsync(), w => Assert.Contains("低于最小样本量 1,000", w));
        Assert.Contains("对照组", await block.InnerTextAsync());

        // Stop from the page: the experiment is stopped on the server and the block says so.
        await block.Locator("[data-testid=experiment-stop]").ClickAsync();
        await page.WaitForSelectorAsync($"[data-testid=experiment][data-id='{ExperimentId}'][data-state='stopped']", new PageWaitForSelectorOptions { Timeout = 10_000 });
        Assert.Equal("已停止", (await block.Locator("[data-testid=experiment-state]").InnerTextAsync()).Trim());
        Assert.Equal(0, await block.Locator("[data-testid=experiment-stop]").CountAsync());
        Assert.Equal("stopped", (await server.GetJsonAsync($"/v1/experiments/{ExperimentId}")).GetProperty("experiment").GetProperty("state").GetString());
        await browser.ScreenshotAsync("online-zh");
        browser.AssertNoConsoleErrors();
    }
}
