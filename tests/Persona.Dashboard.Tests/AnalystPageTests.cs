using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Persona.Abstractions;

namespace Persona.Dashboard.Tests;

/// <summary>
/// What a shop analyst reads on the Overview, Segments, User explorer and Models pages, in English and Chinese, checked
/// against the API's own figures; each test also writes the page's screenshot (to docs/ when PERSONA_DOCS_SCREENSHOT
/// names that folder).
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class AnalystPageTests(DashboardServer server)
{
    private static readonly CultureInfo En = CultureInfo.GetCultureInfo("en-US");

    private static string Money(double value) => "¥" + value.ToString("N2", En);

    /// <summary>Nothing sticks out sideways: the page is no wider than the window.</summary>
    private static async Task AssertFitsWidthAsync(IPage page) =>
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"),
            $"the page is {await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth")} px wide");

    private static async Task<string> Kpi(IPage page, string testId) => (await page.InnerTextAsync($"[data-testid={testId}] .value")).Trim();

    [ChromiumFact]
    public async Task Overview_ShopFigures_MatchTheApiForTheWholeRangeAndAPickedRange()
    {
        var figures = await server.GetJsonAsync("/v1/admin/overview/figures");
        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("", "overview");
        var page = browser.Page;

        Assert.Equal(Money(figures.GetProperty("revenue").GetDouble()), await Kpi(page, "kpi-revenue"));
        Assert.Equal(figures.GetProperty("orders").GetInt32().ToString("N0", En), await Kpi(page, "kpi-orders"));
        Assert.Equal(figures.GetProperty("active_shoppers").GetInt32().ToString("N0", En), await Kpi(page, "kpi-active"));
        Assert.Equal((figures.GetProperty("conversion").GetDouble() * 100).ToString("0.0", En) + "%", await Kpi(page, "kpi-conversion"));
        Assert.Equal(Money(figures.GetProperty("average_order_value").GetDouble()), await Kpi(page, "kpi-aov"));
        Assert.Equal(1, await page.Locator("[data-testid=trend-chart] canvas").CountAsync());
        Assert.Equal(1, await page.Locator("[data-testid=lifecycle-chart] canvas").CountAsync());
        var mix = await page.InnerTextAsync("[data-testid=lifecycle-mix]");
        Assert.Contains($"churned {figures.GetProperty("lifecycle").GetProperty("churned").GetInt32().ToString("N0", En)}", mix);

        // Users and profiles: the note gives both counts and what separates them.
        var population = figures.GetProperty("population");
        var note = await page.InnerTextAsync("[data-testid=population-note]");
        Assert.Contains($"Users ({population.GetProperty("users").GetInt64().ToString("N0", En)})", note);
        Assert.Contains($"profiles ({population.GetProperty("profiles").GetInt64().ToString("N0", En)})", note);
        Assert.True(population.GetProperty("users_without_events").GetInt32() >= 4, "the test shop has sign-ups without events");
        Assert.Contains($"{population.GetProperty("users_without_events").GetInt32().ToString("N0", En)} records have no events", note);

        // Every model in service, sequence model and search encoder included.
        var models = await page.Locator("[data-testid=models-in-service] tr[data-model]").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.model)");
        Assert.Equal(["predictions", "segments", "sequence", "search_encoder", "search_reranker"], models);
        var inService = await page.InnerTextAsync("[data-testid=models-in-service]");
        Assert.Contains("Sequence model", inService);
        Assert.Contains("Search text encoder", inService);

        // The last seven days: the KPIs follow the picked range.
        await page.ClickAsync("[data-testid=range-7]");
        var to = DateOnly.Parse(figures.GetProperty("data_to").GetString()!, CultureInfo.InvariantCulture);
        var from = to.AddDays(-6);
        await page.WaitForSelectorAsync($"[data-testid=overview-figures][data-loading=false][data-range='{from:yyyy-MM-dd}..{to:yyyy-MM-dd}']");
        var week = await server.GetJsonAsync($"/v1/admin/overview/figures?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}");
        Assert.Equal(Money(week.GetProperty("revenue").GetDouble()), await Kpi(page, "kpi-revenue"));
        Assert.Equal(week.GetProperty("active_shoppers").GetInt32().ToString("N0", En), await Kpi(page, "kpi-active"));
        Assert.NotEqual(Money(figures.GetProperty("revenue").GetDouble()), await Kpi(page, "kpi-revenue"));

        await page.ClickAsync("[data-testid=range-all]");
        await page.WaitForSelectorAsync($"[data-testid=overview-figures][data-loading=false][data-range='{figures.GetProperty("data_from").GetString()}..{to:yyyy-MM-dd}']");
        await AssertFitsWidthAsync(page);
        await browser.DocsScreenshotAsync("overview-en");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task Overview_Chinese_NamesFiguresModelsAndTheUsersNoteInChinese()
    {
        var figures = await server.GetJsonAsync("/v1/admin/overview/figures");
        await using var browser = await server.OpenAsync("zh-CN");
        await browser.GotoAsync("", "overview");
        var page = browser.Page;

        var kpis = await page.InnerTextAsync("[data-testid=shop-kpis]");
        foreach (var label in new[] { "成交额（GMV）", "订单数", "活跃用户", "转化率", "客单价" }) Assert.Contains(label, kpis);
        var note = await page.InnerTextAsync("[data-testid=population-note]");
        Assert.Contains($"“用户”（{figures.GetProperty("population").GetProperty("users").GetInt64().ToString("N0", En)}）", note);
        var models = await page.InnerTextAsync("[data-testid=models-in-service]");
        Assert.Contains("序列模型", models);
        Assert.Contains("搜索文本编码器", models);
        Assert.Contains(figures.GetProperty("models")[0].GetProperty("detail_zh").GetString()!, models);
        await AssertFitsWidthAsync(page);
        await browser.DocsScreenshotAsync("overview-zh");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task Segments_AnAdminRenamesASegmentOnItsCard_AndCanGoBackToTheGeneratedBrief()
    {
        var id = (await server.GetJsonAsync("/v1/segments")).GetProperty("segments")[0].GetProperty("id").GetString()!;
        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("#/segments", "segments");
        var card = browser.Page.Locator($"[data-testid=segment-card][data-segment=\"{id}\"]");
        try
        {
            await card.Locator("[data-testid=brief-edit]").ClickAsync();
            await card.Locator("[data-testid=brief-name_en]").FillAsync("Night owls");
            await card.Locator("[data-testid=brief-name_zh]").FillAsync("夜猫子们");
            await card.Locator("[data-testid=brief-brief_en]").FillAsync("Send their offers after 10 pm.");
            await card.Locator("[data-testid=brief-brief_zh]").FillAsync("晚上十点后推送优惠。");
            await browser.ScreenshotAsync("segment-brief-editor");
            await card.Locator("[data-testid=brief-save]").ClickAsync();

            await card.Locator("[data-testid=segment-brief][data-source=admin]").WaitForAsync();
            Assert.Equal("Night owls", (await card.Locator("[data-testid=segment-brief-name]").InnerTextAsync()).Trim());
            var stored = await server.GetJsonAsync($"/v1/segments/{id}/brief");
            Assert.Equal("admin", stored.GetProperty("source").GetString());
            Assert.Equal("夜猫子们", stored.GetProperty("name_zh").GetString());

            await card.Locator("[data-testid=brief-edit]").ClickAsync();
            await card.Locator("[data-testid=brief-reset]").ClickAsync();
            await card.Locator("[data-testid=segment-brief][data-source=template]").WaitForAsync();
            browser.AssertNoConsoleErrors();
        }
        finally
        {
            // The server is shared by the collection: leave the generated brief for the other tests.
            using var _ = await server.Http.DeleteAsync($"/v1/segments/{id}/brief");
        }
    }

    [ChromiumFact]
    public async Task Segments_Cards_SayInPlainWordsWhatEachSegmentIsWorthAndBuys()
    {
        var summary = await server.GetJsonAsync("/v1/segments/summary");
        var briefs = (await server.GetJsonAsync("/v1/segments")).GetProperty("briefs").EnumerateArray().ToDictionary(b => b.GetProperty("id").GetString()!);
        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("#/segments", "segments");
        var page = browser.Page;

        foreach (var s in summary.GetProperty("segments").EnumerateArray())
        {
            var card = page.Locator($"[data-testid=segment-card][data-segment=\"{s.GetProperty("id").GetString()}\"]");
            var text = await card.InnerTextAsync();
            // Its name and brief (the template's here: no chat endpoint), as the API wrote them.
            var brief = briefs[s.GetProperty("id").GetString()!];
            Assert.Equal(brief.GetProperty("brief_en").GetString(), (await card.Locator("[data-testid=segment-brief-text]").InnerTextAsync()).Trim());
            // The template's name is the segment's label, which the heading shows already.
            Assert.Equal(s.GetProperty("label_en").GetString(), brief.GetProperty("name_en").GetString());
            Assert.Equal(0, await card.Locator("[data-testid=segment-brief-name]").CountAsync());
            Assert.Contains($"Revenue {Money(s.GetProperty("revenue").GetDouble())}", text);
            Assert.Contains($"{(s.GetProperty("revenue_share").GetDouble() * 100).ToString("0.0", En)}% of shop revenue", text);
            // A segment without orders has no average order value (the field is left out) and says so.
            if (s.TryGetProperty("average_order_value", out var orderValue) && orderValue.ValueKind == JsonValueKind.Number)
                Assert.Contains($"Average order value {Money(orderValue.GetDouble())}", text);
            else
                Assert.Contains("No orders", text);
            foreach (var c in s.GetProperty("top_categories").EnumerateArray()) Assert.Contains(c.GetProperty("label_en").GetString()!, text);
            foreach (var b in s.GetProperty("top_brands").EnumerateArray()) Assert.Contains(b.GetProperty("label_en").GetString()!, text);
            var mix = s.GetProperty("lifecycle");
            var members = new[] { "new", "active", "at_risk", "churned" }.Sum(l => mix.GetProperty(l).GetInt32());
            foreach (var stage in new[] { "new", "active", "at_risk", "churned" }.Where(l => mix.GetProperty(l).GetInt32() > 0))
                Assert.Contains($"{stage.Replace('_', ' ')} {(100.0 * mix.GetProperty(stage).GetInt32() / members).ToString("0.0", En)}%", text);
            // No feature keys or standard deviations: "share[Apparel] ▲1.37σ" is for the model, not for people.
            Assert.DoesNotContain("σ", text);
            Assert.DoesNotContain("share[", text);
        }

        // The map draws each segment's centre, labelled and sized by its shoppers, above the sampled points.
        var centres = await page.EvaluateAsync<JsonElement>(
            "() => echarts.getInstanceByDom(document.querySelector('[data-testid=segment-map]')).getOption().series.filter(s => s.label && s.label.show).flatMap(s => s.data.map(d => ({ name: d.name, size: d.symbolSize })))");
        var segments = summary.GetProperty("segments").EnumerateArray().ToList();
        Assert.Equal(segments.Count, centres.GetArrayLength());
        Assert.Equal(segments.Select(s => s.GetProperty("label_en").GetString()), centres.EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        var bySize = segments.Zip(centres.EnumerateArray()).OrderBy(p => p.First.GetProperty("size").GetInt32()).Select(p => p.Second.GetProperty("size").GetDouble()).ToList();
        Assert.Equal(bySize.Order().ToList(), bySize);
        // No bubble hides another, even where two centres nearly coincide (moved apart after the chart's first render).
        const string overlapsScript = """
            () => {
              const chart = echarts.getInstanceByDom(document.querySelector('[data-testid=segment-map]'));
              const index = chart.getOption().series.findIndex(s => s.label && s.label.show);
              const bubbles = chart.getOption().series[index].data.map(d => ({ name: d.name, r: d.symbolSize / 2, at: chart.convertToPixel({ seriesIndex: index }, d.value) }));
              const found = [];
              for (let i = 0; i < bubbles.length; i++)
                for (let j = i + 1; j < bubbles.length; j++)
                  if (Math.hypot(bubbles[i].at[0] - bubbles[j].at[0], bubbles[i].at[1] - bubbles[j].at[1]) < bubbles[i].r + bubbles[j].r - 1)
                    found.push(`${bubbles[i].name} / ${bubbles[j].name}`);
              return found;
            }
            """;
        var overlaps = await page.EvaluateAsync<string[]>(overlapsScript);
        for (var attempt = 0; attempt < 50 && overlaps.Length > 0; attempt++)
        {
            await Task.Delay(100);
            overlaps = await page.EvaluateAsync<string[]>(overlapsScript);
        }
        Assert.Empty(overlaps);
        await AssertFitsWidthAsync(page);
        await browser.DocsScreenshotAsync("segments-en");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task Segments_AudienceBuilder_PicksATagAndACategoryFromTheApiAndCountsLikeIt()
    {
        var choices = await server.GetJsonAsync("/v1/audiences/choices");
        var tag = choices.GetProperty("tags").EnumerateArray().First(t => t.GetProperty("users").GetInt32() >= 5).GetProperty("key").GetString()!;
        var category = choices.GetProperty("categories").EnumerateArray().First(c => c.GetProperty("level").GetInt32() == 1 && c.GetProperty("users").GetInt32() > 0).GetProperty("key").GetString()!;
        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("#/segments", "segments");
        var page = browser.Page;

        // Offered, not typed: the dropdowns hold every tag in use and the categories.
        var offered = await page.Locator("[data-testid=audience-tag-select] option").EvaluateAllAsync<string[]>("els => els.map(e => e.value).filter(Boolean)");
        Assert.Equal(choices.GetProperty("tags").EnumerateArray().Select(t => t.GetProperty("key").GetString()!), offered);
        Assert.Equal(0, await page.Locator("[data-testid=audience-builder] input[type=text]").CountAsync());

        await page.SelectOptionAsync("[data-testid=audience-tag-select]", tag);
        await page.Locator($"[data-testid=audience-tag-chips] [data-key=\"{tag}\"]").WaitForAsync();
        await page.SelectOptionAsync("[data-testid=audience-category-select]", category);
        await page.FillAsync($"[data-testid=audience-category-rows] input[data-key=\"{category}\"]", "0.05");
        await page.FillAsync("[data-testid=audience-k]", "1");
        await page.ClickAsync("[data-testid=audience-count]");
        await page.Locator("[data-testid=audience-size], [data-testid=audience-suppressed]").First.WaitForAsync();

        using var response = await server.Http.PostAsJsonAsync("/v1/audiences",
            new { tags_any = new[] { tag }, affinities = new Dictionary<string, double> { [category] = 0.05 }, min_count = 1 });
        var api = await response.Content.ReadFromJsonAsync<JsonElement>(PersonaJson.Options);
        Assert.Equal(api.GetProperty("count").GetInt64().ToString("N0", En), (await page.InnerTextAsync("[data-testid=audience-size]")).Trim());
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task Segments_Chinese_ShowsCardsInChinese()
    {
        var summary = await server.GetJsonAsync("/v1/segments/summary");
        await using var browser = await server.OpenAsync("zh-CN");
        await browser.GotoAsync("#/segments", "segments");
        var page = browser.Page;
        var first = summary.GetProperty("segments")[0];
        var text = await page.Locator($"[data-testid=segment-card][data-segment=\"{first.GetProperty("id").GetString()}\"]").InnerTextAsync();
        Assert.Contains(first.GetProperty("label_zh").GetString()!, text);
        Assert.Contains("成交额", text);
        Assert.Contains(first.GetProperty("top_categories")[0].GetProperty("label_zh").GetString()!, text);
        await AssertFitsWidthAsync(page);
        await browser.DocsScreenshotAsync("segments-zh");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task UserExplorer_Filters_ListTheShoppersTheApiFindsByLifecycleAndTag()
    {
        var choices = await server.GetJsonAsync("/v1/audiences/choices");
        var stage = choices.GetProperty("lifecycle").EnumerateArray().Where(l => l.GetProperty("users").GetInt32() > 0).MinBy(l => l.GetProperty("users").GetInt32()).GetProperty("key").GetString()!;
        var tag = choices.GetProperty("tags").EnumerateArray().First(t => t.GetProperty("users").GetInt32() >= 2).GetProperty("key").GetString()!;
        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("#/users", "users");
        var page = browser.Page;

        await page.SelectOptionAsync("[data-testid=filter-lifecycle]", stage);
        await ExpectListAsync(page, $"/v1/users?limit=50&q=&lifecycle={stage}");
        await page.SelectOptionAsync("[data-testid=filter-tag]", tag);
        await ExpectListAsync(page, $"/v1/users?limit=50&q=&lifecycle={stage}&tag={Uri.EscapeDataString(tag)}");
        await page.SelectOptionAsync("[data-testid=filter-lifecycle]", "");
        await ExpectListAsync(page, $"/v1/users?limit=50&q=&tag={Uri.EscapeDataString(tag)}");
        browser.AssertNoConsoleErrors();
    }

    private async Task ExpectListAsync(IPage page, string apiPath)
    {
        var api = await server.GetJsonAsync(apiPath);
        var expected = api.GetProperty("users").EnumerateArray().Select(u => u.GetString()!).ToArray();
        var total = api.GetProperty("total").GetInt32();
        await page.WaitForFunctionAsync("n => document.querySelector('[data-testid=user-count]').textContent === `${n} matching`", total.ToString("N0", En));
        await page.WaitForFunctionAsync("ids => JSON.stringify([...document.querySelectorAll('[data-testid=user-list] button')].map(b => b.dataset.user)) === JSON.stringify(ids)", expected);
        Assert.Equal(expected, await page.Locator("[data-testid=user-list] button").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.user)"));
    }

    [ChromiumFact]
    public async Task UserExplorer_Chinese_ShowsChineseTitlesAndSourcesTheSensitivityNumberAndWhatNextCategoriesMean()
    {
        var userId = UserWith(p => p.Traits.PriceSensitivity is not null && p.Predictions?.NextCategories.Count > 0);
        var profile = await server.GetJsonAsync($"/v1/users/{userId}/profile");
        var events = await server.GetJsonAsync($"/v1/users/{userId}/events?limit=30");
        await using var browser = await server.OpenAsync("zh-CN");
        await browser.GotoAsync($"#/users/{userId}", "users");
        var page = browser.Page;

        // Timeline: the items' Chinese titles.
        var firstItem = events.GetProperty("events").EnumerateArray().First(e => e.TryGetProperty("item", out var i) && i.ValueKind == JsonValueKind.Object);
        var titleZh = firstItem.GetProperty("item").GetProperty("title_zh").GetString()!;
        Assert.Contains(titleZh, await page.Locator($"[data-testid=timeline] li[data-event=\"{firstItem.GetProperty("event").GetProperty("id").GetString()}\"]").InnerTextAsync());

        // Recommendations: Chinese titles from the items' title_zh, and source names in Chinese.
        var list = page.Locator("[data-testid=recommendation-list] li");
        await list.First.WaitForAsync();
        var shown = await list.EvaluateAllAsync<JsonElement>("els => els.map(e => ({ id: e.dataset.item, title: e.querySelector('[data-testid=recommendation-title]').textContent }))");
        foreach (var row in shown.EnumerateArray())
        {
            var item = await server.GetJsonAsync($"/v1/items/{Uri.EscapeDataString(row.GetProperty("id").GetString()!)}");
            Assert.Equal(item.GetProperty("attributes").GetProperty("title_zh").GetString(), row.GetProperty("title").GetString());
        }
        var sources = await page.Locator("[data-testid=recommendation-sources]").AllInnerTextsAsync();
        Assert.NotEmpty(sources);
        Assert.All(sources, s => Assert.Matches(@"^来源：[^a-z_]+$", s.Trim()));

        // The sensitivity bar carries its number and what it means.
        var sensitivity = profile.GetProperty("traits").GetProperty("price_sensitivity").GetDouble();
        Assert.Equal(sensitivity.ToString("0.00", En), (await page.InnerTextAsync("[data-testid=price-sensitivity-value]")).Trim());
        Assert.Contains("按浏览的价位购买", await page.InnerTextAsync("[data-testid=price-sensitivity]"));

        // Next categories: named in Chinese, and what the percentages are (propensity here: no sequence model is trained in this shop).
        var choices = await server.GetJsonAsync("/v1/audiences/choices");
        var zhNames = choices.GetProperty("categories").EnumerateArray().ToDictionary(c => c.GetProperty("key").GetString()!, c => c.GetProperty("label_zh").GetString()!);
        var next = await page.InnerTextAsync("[data-testid=next-categories]");
        var nextKeys = profile.GetProperty("predictions").GetProperty("next_categories").EnumerateArray().Select(c => c.GetProperty("key").GetString()!).ToList();
        Assert.NotEmpty(nextKeys);
        Assert.All(nextKeys, key => Assert.Contains(zhNames[key], next));
        Assert.Contains("预测窗口", await page.InnerTextAsync("[data-testid=next-categories-meaning]"));
        await AssertFitsWidthAsync(page);
        await browser.DocsScreenshotAsync("user-explorer-zh");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task UserExplorer_English_ShowsTheSensitivityNumberAndNextCategoriesMeaning()
    {
        var userId = UserWith(p => p.Traits.PriceSensitivity is not null && p.Predictions?.NextCategories.Count > 0);
        await using var browser = await server.OpenAsync();
        await browser.GotoAsync($"#/users/{userId}", "users");
        var page = browser.Page;
        Assert.Matches(@"^\d\.\d\d$", (await page.InnerTextAsync("[data-testid=price-sensitivity-value]")).Trim());
        Assert.Contains("Chance of buying in each category", await page.InnerTextAsync("[data-testid=next-categories-meaning]"));
        await page.Locator("[data-testid=recommendation-list], [data-testid=recommendations-unavailable]").First.WaitForAsync();
        await AssertFitsWidthAsync(page);
        await browser.DocsScreenshotAsync("user-explorer-en");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task Models_EveryMetric_IsNamedWithItsDirection()
    {
        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("#/models", "models");
        var page = browser.Page;

        var metrics = await page.Locator("[data-testid=task-table] tr[data-task]").EvaluateAllAsync<JsonElement>(
            "els => els.filter(e => e.querySelector('[data-testid=task-metric]')).map(e => ({ task: e.dataset.task, metric: e.querySelector('[data-testid=task-metric]').innerText }))");
        Assert.NotEqual(0, metrics.GetArrayLength());
        foreach (var row in metrics.EnumerateArray())
        {
            var task = row.GetProperty("task").GetString()!;
            var metric = row.GetProperty("metric").GetString()!;
            if (task.StartsWith("demand:", StringComparison.Ordinal)) Assert.Contains("RMSE", metric);
            else Assert.Contains("AUC", metric);
            Assert.Contains(task.StartsWith("demand:", StringComparison.Ordinal) ? "lower is better" : "higher is better", metric);
        }

        // Test figures from the stored propensity evaluation, beside the validation ones.
        var reports = await server.GetJsonAsync("/v1/admin/reports");
        var propensity = reports.GetProperty("reports").EnumerateArray().First(r => r.GetProperty("kind").GetString() == "evaluation" && r.GetProperty("key").GetString() == "propensity").GetProperty("report");
        var purchase = propensity.GetProperty("tasks").EnumerateArray().First(t => t.GetProperty("task").GetString() == "purchase");
        foreach (var learner in purchase.GetProperty("learners").EnumerateArray().Where(l => l.GetProperty("test").ValueKind == JsonValueKind.Number))
        {
            var row = await page.InnerTextAsync($"[data-testid=task-table] tr[data-task=purchase][data-learner={learner.GetProperty("learner").GetString()}]");
            Assert.Contains(learner.GetProperty("test").GetDouble().ToString("0.0000", En), row);
        }
        Assert.Contains("persona evaluate --task propensity", await page.InnerTextAsync("[data-testid=test-note]"));

        // The stored evaluation's figures by name, direction and target.
        var quality = page.Locator("[data-testid=quality-figures] tr[data-metric=top_category_precision_at3]");
        var text = await quality.InnerTextAsync();
        Assert.Contains("Top-category precision@3", text);
        Assert.Contains("higher is better", text);
        Assert.Contains("≥ 0.80", text);
        Assert.Contains("evaluation / profiles", text);
        Assert.Contains("AUC", await page.InnerTextAsync("[data-testid=metric-glossary]"));
        await AssertFitsWidthAsync(page);
        await browser.DocsScreenshotAsync("models-en");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task Models_Chinese_NamesMetricsAndDirectionsInChinese()
    {
        await using var browser = await server.OpenAsync("zh-CN");
        await browser.GotoAsync("#/models", "models");
        var page = browser.Page;
        Assert.Contains("越高越好", await page.InnerTextAsync("[data-testid=task-table]"));
        Assert.Contains("前三品类准确率", await page.InnerTextAsync("[data-testid=quality-figures]"));
        await AssertFitsWidthAsync(page);
        await browser.DocsScreenshotAsync("models-zh");
        browser.AssertNoConsoleErrors();
    }

    /// <summary>The demo shopper with the most tags among those matching, so the card is full.</summary>
    private string UserWith(Func<Profile, bool> predicate) =>
        server.DemoUserIds
            .Select(u => server.Engine.GetProfile(u).Profile!)
            .Where(predicate)
            .OrderByDescending(p => p.Tags.Count)
            .ThenBy(p => p.UserId, StringComparer.Ordinal)
            .First().UserId;
}
