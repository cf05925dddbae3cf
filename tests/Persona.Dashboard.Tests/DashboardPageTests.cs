using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Persona.Abstractions;

namespace Persona.Dashboard.Tests;

/// <summary>Each dashboard page in headless Chromium against the demo server: real data, both languages, a clean console.</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardPageTests(DashboardServer server)
{
    [ChromiumFact]
    public async Task Overview_Opened_ShowsStoreCountsModelsAndEvaluation()
    {
        var health = await server.GetJsonAsync("/health");
        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("", "overview");
        var page = browser.Page;

        var users = health.GetProperty("stats").GetProperty("users").GetInt64();
        var events = health.GetProperty("stats").GetProperty("events").GetInt64();
        Assert.Equal(users.ToString("N0", CultureInfo.GetCultureInfo("en-US")), await ValueOf(page, "stat-users"));
        Assert.Equal(events.ToString("N0", CultureInfo.GetCultureInfo("en-US")), await ValueOf(page, "stat-events"));
        var overview = await server.GetJsonAsync("/v1/admin/overview");
        Assert.Contains(overview.GetProperty("models").GetProperty("prediction_model").GetString()!, await page.InnerTextAsync("[data-testid=overview-models]"));
        Assert.Contains("Top-category precision@3", await page.InnerTextAsync("[data-testid=overview-evaluation]"));
        Assert.True(await page.Locator(".chart canvas").CountAsync() > 0, "the ingest chart is drawn");
        await browser.ScreenshotAsync("overview");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task UserExplorer_UserOpened_ShowsExactlyTheProfileTagsAndTheirEvidence()
    {
        var userId = RichestUser();
        var profile = await server.GetJsonAsync($"/v1/users/{userId}/profile");
        var expectedTags = profile.GetProperty("tags").EnumerateArray().Select(t => t.GetProperty("key").GetString()!).ToList();
        Assert.NotEmpty(expectedTags);

        await using var browser = await server.OpenAsync();
        await browser.GotoAsync($"#/users/{userId}", "users");
        var page = browser.Page;

        var shownTags = await page.Locator("[data-testid=tag-chip]").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.key)");
        Assert.Equal(expectedTags, shownTags);
        Assert.Contains(profile.GetProperty("traits").GetProperty("lifecycle").GetString()!.Replace('_', ' '), await page.InnerTextAsync("[data-testid=lifecycle]"));
        Assert.True(await page.Locator("[data-testid=timeline] li").CountAsync() > 0);
        Assert.True(await page.Locator("section canvas").CountAsync() >= 1, "the category affinity chart is drawn");
        Assert.Contains("%", await page.InnerTextAsync("[data-testid=predictions]"));
        // The summary (the template here: no chat endpoint) reads as the API wrote it.
        Assert.Equal(profile.GetProperty("summary").GetProperty("en").GetString(), (await page.InnerTextAsync("[data-testid=profile-summary-text]")).Trim());
        Assert.Equal("template", await page.GetAttributeAsync("[data-testid=profile-summary]", "data-source"));

        // A tag's chip opens exactly the events the profile cites for it.
        var tag = profile.GetProperty("tags").EnumerateArray().First(t => t.GetProperty("evidence_event_ids").GetArrayLength() > 0);
        var evidenceIds = tag.GetProperty("evidence_event_ids").EnumerateArray().Select(e => e.GetString()!).Order(StringComparer.Ordinal).ToList();
        await page.Locator($"[data-testid=tag-chip][data-key=\"{tag.GetProperty("key").GetString()}\"]").ClickAsync();
        var evidence = page.Locator("[data-testid=evidence-events] li");
        await evidence.First.WaitForAsync();
        var shownEvidence = (await evidence.EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.event)")).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(evidenceIds, shownEvidence);

        // Recommendations: a list when the API has them, otherwise a clear note (and no failed request).
        Assert.True(await page.Locator("[data-testid=recommendation-list], [data-testid=recommendations-unavailable]").CountAsync() == 1);

        await browser.ScreenshotAsync("user-explorer");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task LanguageToggle_Clicked_SwitchesToChineseAndIsRemembered()
    {
        var userId = RichestUser();
        var profile = await server.GetJsonAsync($"/v1/users/{userId}/profile");
        var chineseTags = profile.GetProperty("tags").EnumerateArray().Select(t => t.GetProperty("label_zh").GetString()!).ToList();

        await using var browser = await server.OpenAsync();
        await browser.GotoAsync($"#/users/{userId}", "users");
        var page = browser.Page;
        Assert.Equal("User explorer", (await page.InnerTextAsync("[data-testid=nav-users]")).Trim());

        await page.ClickAsync("[data-testid=lang-toggle]");
        await browser.WaitReadyAsync("users");
        Assert.Equal("用户探索", (await page.InnerTextAsync("[data-testid=nav-users]")).Trim());
        Assert.Equal("zh-CN", await page.GetAttributeAsync("html", "lang"));
        var chipTexts = await page.Locator("[data-testid=tag-chip]").EvaluateAllAsync<string[]>("els => els.map(e => e.firstChild.textContent)");
        Assert.Equal(chineseTags, chipTexts);
        Assert.Equal(profile.GetProperty("summary").GetProperty("zh").GetString(), (await page.InnerTextAsync("[data-testid=profile-summary-text]")).Trim());
        await browser.ScreenshotAsync("user-explorer-zh");

        await page.ReloadAsync();
        await browser.WaitReadyAsync("users");
        Assert.Equal("概览", (await page.InnerTextAsync("[data-testid=nav-overview]")).Trim());
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task Segments_Opened_ShowsEverySegmentAndCountsAnAudienceLikeTheApi()
    {
        var segments = await server.GetJsonAsync("/v1/segments");
        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("#/segments", "segments");
        var page = browser.Page;

        var expected = segments.GetProperty("segments").EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToList();
        var shown = await page.Locator("[data-testid=segment-card]").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.segment)");
        Assert.Equal(expected, shown);
        Assert.Equal(1, await page.Locator("[data-testid=segment-map] canvas").CountAsync());

        // The builder's count for one segment equals what the audiences API publishes for the same rule.
        var first = expected[0];
        await page.Locator($"[data-testid=audience-builder] input[type=checkbox][value=\"{first}\"]").CheckAsync();
        await page.FillAsync("[data-testid=audience-k]", "1");
        await page.ClickAsync("[data-testid=audience-count]");
        await page.Locator("[data-testid=audience-size]").WaitForAsync();
        using var response = await server.Http.PostAsJsonAsync("/v1/audiences", new { segments = new[] { first }, min_count = 1 });
        var api = await response.Content.ReadFromJsonAsync<JsonElement>(PersonaJson.Options);
        Assert.Equal(api.GetProperty("count").GetInt64().ToString("N0", CultureInfo.GetCultureInfo("en-US")), (await page.InnerTextAsync("[data-testid=audience-size]")).Trim());

        await browser.ScreenshotAsync("segments");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task SearchPlayground_Opened_ComparesPersonalisationOrSaysTheApiIsMissing()
    {
        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("#/search", "search");
        var page = browser.Page;
        var openApi = await server.GetJsonAsync("/openapi/v1.json");
        if (!openApi.GetProperty("paths").TryGetProperty("/v1/search", out _))
        {
            Assert.Contains("/v1/search", await page.InnerTextAsync("[data-testid=search-unavailable]"));
            await browser.ScreenshotAsync("search");
            browser.AssertNoConsoleErrors();
            return;
        }

        // With the API: for some demo shopper, switching personalisation on reorders a category query.
        var changed = false;
        foreach (var userId in server.DemoUserIds.Take(5))
        {
            var profile = await server.GetJsonAsync($"/v1/users/{userId}/profile");
            var query = profile.GetProperty("affinities").GetProperty("categories").EnumerateArray().First().GetProperty("label_en").GetString()!;
            await browser.GotoAsync($"#/search/{Uri.EscapeDataString(query)}/{Uri.EscapeDataString(userId)}", "search");
            var off = await page.Locator("[data-testid=results-off] li").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.item)");
            var on = await page.Locator("[data-testid=results-on] li").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.item)");
            Assert.NotEmpty(off);
            Assert.NotEmpty(on);
            if (!off.SequenceEqual(on))
            {
                changed = true;
                break;
            }
        }
        Assert.True(changed, "personalisation changed the order for none of five shoppers");
        await browser.ScreenshotAsync("search");
        browser.AssertNoConsoleErrors();
    }

    /// <summary>
    /// The page says who read a long query. The test server has no chat endpoint, so the browser's search answers are
    /// given the <c>rewrite</c> a configured server adds (the API's tests cover the rewriting itself).
    /// </summary>
    [ChromiumFact]
    public async Task SearchPlayground_SaysWhetherTheChatModelOrTheParserReadTheQuery()
    {
        await using var browser = await server.OpenAsync();
        var page = browser.Page;
        var rewrite = """{"source":"model","elapsed_ms":204.3,"cached":false,"model":"qwen-test"}""";
        await page.RouteAsync("**/v1/search?*", async route =>
        {
            var response = await route.FetchAsync();
            var body = System.Text.Json.Nodes.JsonNode.Parse(await response.TextAsync())!.AsObject();
            body["rewrite"] = System.Text.Json.Nodes.JsonNode.Parse(rewrite);
            await route.FulfillAsync(new() { Response = response, Body = body.ToJsonString() });
        });
        await browser.GotoAsync($"#/search/{Uri.EscapeDataString("a gift for a runner under 50")}", "search");
        var line = page.Locator("[data-testid=search-rewrite]");
        await Microsoft.Playwright.Assertions.Expect(line).ToHaveTextAsync("Read by the chat model qwen-test in 204 ms");

        rewrite = """{"source":"parser","elapsed_ms":301,"reason":"timeout: no answer within 300 ms","cached":false}""";
        await page.ClickAsync("[data-testid=search-run]");
        await Microsoft.Playwright.Assertions.Expect(line).ToHaveTextAsync("The chat model did not help (timeout: no answer within 300 ms, 301 ms): read by the search's own parser");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task SearchPlayground_EncoderSwitch_SaysWhichEncoderServed()
    {
        await using var browser = await server.OpenAsync("zh-CN");
        await browser.GotoAsync($"#/search/{Uri.EscapeDataString("口红")}", "search");
        var page = browser.Page;
        var served = page.Locator("[data-testid=search-served-encoder]");
        // The demo's in-domain encoder trains in the background at start: once it serves, the line names its version.
        await Microsoft.Playwright.Assertions.Expect(served).ToContainTextAsync(new System.Text.RegularExpressions.Regex("本次使用的文本编码器|本次未使用文本编码器"));
        var status = await server.GetJsonAsync("/v1/search/status");
        var text = await served.InnerTextAsync();
        if (text.Contains("本次使用的文本编码器", StringComparison.Ordinal))
            Assert.Contains(status.GetProperty("encoder_version").GetString()!, text, StringComparison.Ordinal);

        await page.SelectOptionAsync("[data-testid=search-encoder]", "lexical");
        await Microsoft.Playwright.Assertions.Expect(served).ToContainTextAsync("本次未使用文本编码器");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public Task SearchPlayground_PriceLimitQueryInEnglish_ShowsEveryResultsPriceAndCategory() => SearchPricesAndCategoriesShownAsync("en-US", "Price", "Category");

    [ChromiumFact]
    public Task SearchPlayground_PriceLimitQueryInChinese_ShowsEveryResultsPriceAndCategory() => SearchPricesAndCategoriesShownAsync("zh-CN", "价格", "类目");

    private async Task SearchPricesAndCategoriesShownAsync(string locale, string priceLabel, string categoryLabel)
    {
        var openApi = await server.GetJsonAsync("/openapi/v1.json");
        if (!openApi.GetProperty("paths").TryGetProperty("/v1/search", out _)) return;
        var userId = server.DemoUserIds[0];

        await using var browser = await server.OpenAsync(locale);
        await browser.GotoAsync($"#/search/{Uri.EscapeDataString("口红 100元以下")}/{Uri.EscapeDataString(userId)}", "search");
        var page = browser.Page;

        var chinese = locale.StartsWith("zh", StringComparison.Ordinal);
        Assert.Contains(chinese ? "价格 ≤ ¥100" : "price ≤ ¥100", await page.InnerTextAsync("[data-testid=search-understood]"));
        var results = page.Locator("[data-testid=results-off] li, [data-testid=results-on] li");
        var count = await results.CountAsync();
        Assert.True(count > 0, "the query found lipsticks");
        for (var i = 0; i < count; i++)
        {
            var li = results.Nth(i);
            var id = await li.GetAttributeAsync("data-item");
            var item = await server.GetJsonAsync($"/v1/items/{Uri.EscapeDataString(id!)}");
            var price = item.GetProperty("price").GetDouble();
            var shownPrice = await li.Locator("[data-testid=result-price]").InnerTextAsync();
            var shownCategory = await li.Locator("[data-testid=result-category]").InnerTextAsync();
            Assert.Equal($"{priceLabel} ¥{price.ToString(price % 1 == 0 ? "0" : "0.00", CultureInfo.InvariantCulture)}", shownPrice);
            Assert.True(price <= 100, $"{id} costs {price}");
            var path = chinese
                ? item.GetProperty("attributes").GetProperty("category_path_zh").GetString()!
                : string.Join(" > ", item.GetProperty("category_path").EnumerateArray().Select(c => c.GetString()));
            Assert.Equal($"{categoryLabel} {path}", shownCategory);
        }
        await browser.DocsScreenshotAsync($"search-playground-{(chinese ? "zh" : "en")}");
        browser.AssertNoConsoleErrors();
    }

    [ChromiumFact]
    public async Task Models_Opened_ShowsRefreshTasksAndStoredEvaluation()
    {
        var overview = await server.GetJsonAsync("/v1/admin/overview");
        var tasks = overview.GetProperty("models").GetProperty("last_refresh").GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("task").GetString()!).ToList();
        Assert.NotEmpty(tasks);

        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("#/models", "models");
        var page = browser.Page;
        var table = await page.InnerTextAsync("[data-testid=task-table]");
        Assert.All(tasks, task => Assert.Contains(task, table));
        Assert.Contains("evaluation / profiles", await page.InnerTextAsync("[data-testid=stored-reports]"));
        await browser.ScreenshotAsync("models");
        browser.AssertNoConsoleErrors();
    }

    private static async Task<string> ValueOf(IPage page, string testId) => (await page.InnerTextAsync($"[data-testid={testId}] .value")).Trim();

    /// <summary>The shopper with the most tags (ties by id), so the explorer shows a full card.</summary>
    private string RichestUser() =>
        server.DemoUserIds
            .Select(u => server.Engine.GetProfile(u).Profile!)
            .OrderByDescending(p => p.Tags.Count(t => t.EvidenceEventIds.Count > 0))
            .ThenByDescending(p => p.Tags.Count)
            .ThenBy(p => p.UserId, StringComparer.Ordinal)
            .First().UserId;
}
