using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Playwright;

namespace Persona.Dashboard.Tests;

/// <summary>
/// The dashboard on a server with API keys (issue 8: "the dashboard needs an admin key"), in headless Chromium:
/// it asks for a key, refuses a read-only one, and works with an admin key kept in localStorage.
/// </summary>
[Collection(KeyedDashboardCollection.Name)]
public sealed class KeyFlowTests(KeyedDashboardServer server)
{
    private const string Overview = "/v1/admin/overview";
    private const string Reports = "/v1/admin/reports";
    private const string Figures = "/v1/admin/overview/figures";
    private const string KeyStorage = "persona.apiKey";
    private const string KeyForm = "[data-testid=key-form]";
    private const string NeededEn = "This server needs an API key (admin scope for every page):";
    private const string NeededZh = "此服务器需要 API 密钥（所有页面需 admin 权限）：";
    private const string ForbiddenEn = "The API key lacks a scope this page needs (use an admin key):";

    private static readonly CultureInfo English = CultureInfo.GetCultureInfo("en-US");

    [ChromiumFact]
    public async Task Dashboard_OpenedWithoutKey_AsksForKeyInBothLanguagesAndShowsNoData()
    {
        using (var bare = await server.Http.GetAsync(new Uri(Overview, UriKind.Relative)))
            Assert.Equal(HttpStatusCode.Unauthorized, bare.StatusCode);

        await using var english = await server.OpenAsync();
        await english.GotoAsync("", "overview");
        var page = english.Page;
        Assert.Equal(NeededEn, await page.InnerTextAsync($"{KeyForm} span"));
        Assert.Equal("Use key", await page.InnerTextAsync($"{KeyForm} button[type=submit]"));
        Assert.Equal("API key", await page.InnerTextAsync("[data-testid=key-button]"));
        Assert.Equal("password", await page.GetAttributeAsync("[data-testid=key-input]", "type"));
        Assert.Contains("An API key is required", await page.InnerTextAsync("main .error"));
        await AssertNoOverviewDataAsync(page);
        Assert.Null(await StoredKeyAsync(page));
        english.AssertOnlyHttpErrors((401, Overview), (401, Reports), (401, Figures));

        await using var chinese = await server.OpenAsync("zh-CN");
        await chinese.GotoAsync("", "overview");
        Assert.Equal(NeededZh, await chinese.Page.InnerTextAsync($"{KeyForm} span"));
        Assert.Equal("使用密钥", await chinese.Page.InnerTextAsync($"{KeyForm} button[type=submit]"));
        Assert.Equal("API 密钥", await chinese.Page.InnerTextAsync("[data-testid=key-button]"));
        await AssertNoOverviewDataAsync(chinese.Page);
        chinese.AssertOnlyHttpErrors((401, Overview), (401, Reports), (401, Figures));
    }

    [ChromiumFact]
    public async Task Dashboard_ReadOnlyKey_IsRefusedForAdminPagesAndShowsNoData()
    {
        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("", "overview");
        var page = browser.Page;

        await UseKeyAsync(page, server.ReadKey);
        await page.Locator(KeyForm, new PageLocatorOptions { HasText = ForbiddenEn }).WaitForAsync();
        Assert.Equal(ForbiddenEn, await page.InnerTextAsync($"{KeyForm} span"));
        await AssertNoOverviewDataAsync(page);

        // The shell tries a key before keeping it: the refused key is not stored and the input is emptied.
        Assert.Null(await StoredKeyAsync(page));
        Assert.Equal("", await page.InputValueAsync("[data-testid=key-input]"));

        // The open form follows the language toggle.
        await page.ClickAsync("#lang-toggle");
        await page.Locator(KeyForm, new PageLocatorOptions { HasText = "使用密钥" }).WaitForAsync();
        Assert.Contains("admin", await page.InnerTextAsync($"{KeyForm} span"), StringComparison.Ordinal);
        Assert.Matches("[\\u4e00-\\u9fff]", await page.InnerTextAsync($"{KeyForm} span"));
        await page.ClickAsync("#lang-toggle");

        await page.ReloadAsync();
        await browser.WaitReadyAsync("overview");
        Assert.Equal(NeededEn, await page.InnerTextAsync($"{KeyForm} span"));
        await AssertNoOverviewDataAsync(page);
        browser.AssertOnlyHttpErrors((401, Overview), (401, Reports), (401, Figures), (403, Overview));
    }

    [ChromiumFact]
    public async Task Dashboard_AdminKey_ShowsTheOverviewKeepsTheKeyAndForgetsItWhenCleared()
    {
        var expected = await server.GetJsonAsync(Overview, server.AdminKey);
        await using var browser = await server.OpenAsync();
        await browser.GotoAsync("", "overview");
        var page = browser.Page;

        await UseKeyAsync(page, server.AdminKey);
        await page.Locator("[data-testid=overview-stats]").WaitForAsync();
        await browser.WaitReadyAsync("overview");
        await AssertOverviewEqualsAsync(page, expected);
        Assert.Equal(0, await page.Locator(KeyForm).CountAsync());
        Assert.Equal(server.AdminKey, await StoredKeyAsync(page));

        await page.ReloadAsync();
        await browser.WaitReadyAsync("overview");
        await AssertOverviewEqualsAsync(page, expected);
        Assert.Equal(0, await page.Locator(KeyForm).CountAsync());

        // No separate sign-out control: the key button reopens the form with the kept key, and an empty key forgets it.
        await page.ClickAsync("[data-testid=key-button]");
        Assert.Equal(server.AdminKey, await page.InputValueAsync("[data-testid=key-input]"));
        await UseKeyAsync(page, "");
        await page.WaitForFunctionAsync(
            "() => document.querySelector('main').dataset.ready === 'true' && document.querySelector('#key-form') !== null");
        Assert.Null(await StoredKeyAsync(page));
        Assert.Equal(NeededEn, await page.InnerTextAsync($"{KeyForm} span"));
        await AssertNoOverviewDataAsync(page);
        browser.AssertOnlyHttpErrors((401, Overview), (401, Reports), (401, Figures));
    }

    private static async Task UseKeyAsync(IPage page, string key)
    {
        await page.FillAsync("[data-testid=key-input]", key);
        await page.ClickAsync($"{KeyForm} button[type=submit]");
    }

    private static Task<string?> StoredKeyAsync(IPage page) =>
        page.EvaluateAsync<string?>($"() => localStorage.getItem('{KeyStorage}')");

    private static async Task AssertNoOverviewDataAsync(IPage page)
    {
        Assert.Equal(0, await page.Locator("[data-testid=overview-stats]").CountAsync());
        Assert.Equal(0, await page.Locator(".stat").CountAsync());
    }

    /// <summary>The figures the overview shows equal those GET /v1/admin/overview gave the admin key (a still store: no events arrive during the tests).</summary>
    private static async Task AssertOverviewEqualsAsync(IPage page, JsonElement expected)
    {
        var stats = expected.GetProperty("stats");
        foreach (var (field, testId) in new[] { ("users", "stat-users"), ("items", "stat-items"), ("events", "stat-events"), ("profiles", "stat-profiles") })
        {
            var value = stats.GetProperty(field).GetInt64();
            Assert.True(value > 0, $"the keyed demo shop has {field}");
            Assert.Equal(value.ToString("N0", English), await page.InnerTextAsync($"[data-testid={testId}] .value"));
        }
        var memory = expected.GetProperty("shopper_states");
        var mib = (string name) => Math.Round(memory.GetProperty(name).GetInt64() / 1048576.0, MidpointRounding.AwayFromZero).ToString("N0", English);
        Assert.Equal($"{mib("hot_bytes")} / {mib("budget_bytes")}", await page.InnerTextAsync("[data-testid=stat-hot-states] .value"));
        Assert.Equal($"{memory.GetProperty("loads").GetInt64().ToString("N0", English)} / {memory.GetProperty("evictions").GetInt64().ToString("N0", English)}",
            await page.InnerTextAsync("[data-testid=stat-cold-traffic] .value"));
        var models = expected.GetProperty("models");
        var versions = new[] { "prediction_model", "segment_model" }
            .Select(name => models.TryGetProperty(name, out var version) && version.ValueKind == JsonValueKind.String ? version.GetString()! : null)
            .OfType<string>().ToList();
        Assert.True(versions.Count > 0, "the keyed demo shop has trained models: " + expected);
        var shownModels = await page.InnerTextAsync("[data-testid=overview-models]");
        Assert.All(versions, version => Assert.Contains(version, shownModels));
        Assert.Contains("Top-category precision@3", await page.InnerTextAsync("[data-testid=overview-evaluation]"));
    }
}
