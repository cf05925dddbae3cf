using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Persona.Abstractions;
using Persona.Core.Demo;
using Persona.Core.Evaluation;
using Persona.Core.Features;
using Persona.Core.Models.Propensity;
using Persona.Hosting;
using Persona.Server;

namespace Persona.Dashboard.Tests;

/// <summary>
/// A real Kestrel server on a free loopback port over a fresh SQLite folder, loaded with a small demo shop
/// through the same importer as <c>persona demo</c>, with models refreshed and a profile-quality evaluation
/// stored as <c>persona evaluate</c> stores it; plus one headless Debian Chromium shared by the tests.
/// Started open (development mode) unless a subclass passes its own security arguments.
/// </summary>
public class DashboardServer : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "persona-dashboard-tests", Guid.NewGuid().ToString("n"));
    private readonly IReadOnlyList<string> _securityArguments;
    private readonly DemoOptions _shop;
    private WebApplication? _app;
    private IPlaywright? _playwright;

    public DashboardServer()
        : this(["--Persona:Security:Open=true"], new DemoOptions { Users = 150, Items = 600, Days = 60, TargetEventsPerUser = 40 })
    {
    }

    /// <param name="securityArguments">Command-line settings under <c>Persona:Security</c> (open mode or keys).</param>
    /// <param name="shop">Size of the demo shop loaded before the tests.</param>
    protected DashboardServer(IReadOnlyList<string> securityArguments, DemoOptions shop)
    {
        _securityArguments = securityArguments;
        _shop = shop;
    }

    public Uri BaseAddress { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public PersonaEngine Engine => _app!.Services.GetRequiredService<PersonaEngine>();
    public IServiceProvider Services => _app!.Services;
    public IBrowser? Browser { get; private set; }
    /// <summary>The demo shoppers that have a profile, in ordinal order; users the tests post themselves are not in it.</summary>
    public IReadOnlyList<string> DemoUserIds { get; private set; } = [];

    /// <summary>Where screenshots go: the test output folder (bin/…/screenshots), never the source tree.</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public static bool HasChromium => File.Exists(ChromiumPath);

    public async Task InitializeAsync()
    {
        _app = PersonaServer.Build([
            "--urls=http://127.0.0.1:0",
            $"--Persona:DataDirectory={_dataDirectory}",
            .. _securityArguments,
            "--Persona:Models:RefreshOnStart=false",
            "--Persona:Models:RefreshIntervalMinutes=0",
        ]);
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.Single());
        Http = new HttpClient { BaseAddress = BaseAddress };

        var shop = new DemoShopGenerator(_shop).Generate();
        await PersonaImporter.ImportShopAsync(Engine, shop, progress: null, CancellationToken.None);
        // Sign-ups who never browsed: records without events, so users and profiles differ as in a real shop.
        Assert.Empty(await Engine.UpsertUsersAsync([.. Enumerable.Range(1, 4).Select(i => new User { Id = $"signup-{i:00}", Region = "Shanghai" })], CancellationToken.None));
        DemoUserIds = [.. shop.Users.Select(u => u.Id).Where(id => Engine.GetProfile(id).Status == ProfileStatus.Found).Order(StringComparer.Ordinal)];
        await _app.Services.GetRequiredService<PersonaModels>().RefreshAsync(CancellationToken.None);
        var profiles = shop.Truth.Select(t => Engine.GetProfile(t.UserId)).Where(r => r.Status == ProfileStatus.Found).Select(r => r.Profile!).ToList();
        await Engine.Store.PutDocumentAsync("evaluation", "profiles", ProfileQualityEvaluator.Evaluate(profiles, shop.Truth).ToJson());
        await Engine.Store.PutDocumentAsync("evaluation", "propensity", (await EvaluatePropensityAsync()).ToJson());

        if (!HasChromium) return;
        // Only the system browser is used: no Playwright browser download is ever triggered.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true, Args = ChromiumArgs });
    }

    /// <summary>The test-window propensity evaluation, split as <c>persona evaluate --task propensity</c> splits a store (horizon 14 days).</summary>
    private async Task<PropensityReport> EvaluatePropensityAsync()
    {
        var horizon = TimeSpan.FromDays(14);
        var end = Engine.AsOf;
        var builder = new TimeSplitBuilder(Engine.Catalog, Engine.Options.Profiles, [end - 2 * horizon, end - horizon], horizon);
        await foreach (var e in Engine.Store.ReadEventsAsync(0)) builder.Add(e);
        var splits = builder.Build();
        return PropensityEvaluator.Evaluate("dashboard-tests", splits[0], splits[1], UserFeatureSchema.For(splits[0].Profiles), new PropensityOptions { Seed = 42 });
    }

    /// <summary>A fresh browser context (English locale unless told, clean localStorage) with a page that records console errors.</summary>
    public async Task<BrowserPage> OpenAsync(string locale = "en-US")
    {
        var context = await Browser!.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            Locale = locale,
            ViewportSize = new ViewportSize { Width = 1440, Height = 1000 },
        });
        var page = await context.NewPageAsync();
        return new BrowserPage(context, page);
    }

    /// <summary>GETs a JSON answer, sending <paramref name="apiKey"/> as <c>X-Api-Key</c> when given; fails on a non-2xx status.</summary>
    public async Task<JsonElement> GetJsonAsync(string path, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (apiKey is not null) request.Headers.Add("X-Api-Key", apiKey);
        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>(PersonaJson.Options);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        Http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>One page in its own context; every console error and uncaught exception is kept for the test to assert on.</summary>
public sealed class BrowserPage(IBrowserContext context, IPage page) : IAsyncDisposable
{
    private readonly List<ConsoleError> _errors = Attach(page);

    public IPage Page => page;

    public IReadOnlyList<string> ConsoleErrors
    {
        get { lock (_errors) return [.. _errors.Select(e => e.ToString())]; }
    }

    private static List<ConsoleError> Attach(IPage page)
    {
        var errors = new List<ConsoleError>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error") lock (errors) errors.Add(new ConsoleError(message.Text, message.Location));
        };
        page.PageError += (_, error) => { lock (errors) errors.Add(new ConsoleError($"uncaught: {error}", "")); };
        return errors;
    }

    /// <summary>Opens a dashboard route (e.g. <c>#/users/u-1</c>) and waits until that page has rendered.</summary>
    public async Task GotoAsync(string route, string pageId)
    {
        await page.GotoAsync("/" + route);
        await WaitReadyAsync(pageId);
    }

    public Task WaitReadyAsync(string pageId) =>
        page.WaitForSelectorAsync($"main[data-page='{pageId}'][data-ready='true']", new PageWaitForSelectorOptions { Timeout = 20_000 });

    /// <summary>
    /// Set to a folder (e.g. <c>$PWD/docs</c>) to also save the pages' screenshots there for the README, as
    /// <c>NAME.png</c> (overview-en, overview-zh, user-explorer-en, …).
    /// </summary>
    public const string DocsScreenshotVariable = "PERSONA_DOCS_SCREENSHOT";

    /// <summary>A screenshot in the test output, and in the docs folder when <see cref="DocsScreenshotVariable"/> names one.</summary>
    public Task DocsScreenshotAsync(string name) =>
        ScreenshotAsync(name, Environment.GetEnvironmentVariable(DocsScreenshotVariable) is { Length: > 0 } docs ? Path.Combine(Path.GetFullPath(docs), name + ".png") : null);

    public async Task ScreenshotAsync(string name, string? copyTo = null)
    {
        Directory.CreateDirectory(DashboardServer.ScreenshotDirectory);
        var path = Path.Combine(DashboardServer.ScreenshotDirectory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        if (copyTo is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(copyTo)!);
            File.Copy(path, copyTo, overwrite: true);
        }
    }

    public void AssertNoConsoleErrors()
    {
        lock (_errors) Assert.True(_errors.Count == 0, "Browser console errors:\n" + string.Join("\n", _errors));
    }

    /// <summary>
    /// Asserts that the only console errors are Chromium's own "Failed to load resource" lines for the given
    /// (status, path) answers, e.g. the 401s a keyed server gives before a key is entered, and that each of them
    /// was seen; any other error, or one of those statuses on another path, fails.
    /// </summary>
    public void AssertOnlyHttpErrors(params (int Status, string Path)[] expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        List<ConsoleError> errors;
        lock (_errors) errors = [.. _errors];
        var seen = new HashSet<(int, string)>();
        var unexpected = new List<ConsoleError>();
        foreach (var error in errors)
        {
            var match = expected.FirstOrDefault(e => error.IsFailedLoad(e.Status, e.Path));
            if (match.Path is null) unexpected.Add(error);
            else seen.Add(match);
        }
        Assert.True(unexpected.Count == 0, "Unexpected browser console errors:\n" + string.Join("\n", unexpected));
        Assert.True(seen.Count == expected.Length,
            "Expected failed loads not reported: " + string.Join(", ", expected.Where(e => !seen.Contains(e)).Select(e => $"{e.Status} {e.Path}")));
    }

    public async ValueTask DisposeAsync() => await context.DisposeAsync();
}

/// <summary>One console error: its text and where it came from (<c>URL:line:column</c>).</summary>
public sealed record ConsoleError(string Text, string Location)
{
    /// <summary>
    /// Chromium's line for a response with <paramref name="status"/> to <paramref name="path"/> (query included),
    /// e.g. "Failed to load resource: the server responded with a status of 401 (Unauthorized)" at that URL.
    /// </summary>
    public bool IsFailedLoad(int status, string path)
    {
        var text = $"Failed to load resource: the server responded with a status of {status} ({ReasonPhrases.GetReasonPhrase(status)})";
        if (!string.Equals(Text, text, StringComparison.Ordinal)) return false;
        // The location is the resource's absolute URL followed by ":line:column".
        var url = StripNumber(StripNumber(Location));
        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && string.Equals(uri.PathAndQuery, path, StringComparison.Ordinal);
    }

    /// <summary>The location without a trailing ":123".</summary>
    private static string StripNumber(string location)
    {
        var colon = location.LastIndexOf(':');
        var digits = location.AsSpan(colon + 1);
        return colon > 0 && !digits.IsEmpty && !digits.ContainsAnyExceptInRange('0', '9') ? location[..colon] : location;
    }

    public override string ToString() => $"{Text} ({Location})";
}

/// <summary>A test that needs Debian's Chromium; skipped, saying why, where it is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!DashboardServer.HasChromium)
            Skip = $"{DashboardServer.ChromiumPath} is not installed (apt-get install chromium fonts-wqy-zenhei); browser tests skipped.";
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardServer>
{
    public const string Name = "dashboard";
}
