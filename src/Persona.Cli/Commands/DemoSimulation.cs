using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Demo;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary>
/// <c>persona demo --simulate</c>: demo shoppers who see what the running server shows them and respond by their latent
/// preferences (<see cref="DemoResponder"/>), over HTTP as a shop's front end would: each session asks for
/// recommendations (70 %), similar items (15 %) or a search (15 %), reports the first ten results as impressions
/// with the request id and position, clicks, carts and buys (purchases without the request id, so they are attributed
/// by last touch). It first starts the experiment "popular" against "personalised" on recommendations, or (with
/// <c>--experiment blend</c>) the configured blend against the blend learned from the clicks.
/// </summary>
internal sealed class DemoSimulation(HttpClient http, DemoResponder responder, IReadOnlyList<DemoTruth> shoppers, IReadOnlyList<Item> items, IAnsiConsole terminal)
{
    public const string PersonalisationExperiment = "personalisation";
    public const string BlendExperiment = "blend";
    private const int Shown = 10;
    private readonly Dictionary<string, List<string>> _itemsByLeaf = items
        .Where(i => i.CategoryPath.Count > 0)
        .GroupBy(i => CategoryPaths.Key(i.CategoryPath, i.CategoryPath.Count), StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Select(i => i.Id).ToList(), StringComparer.Ordinal);
    private long _sessions, _impressions, _clicks, _purchases, _errors;

    /// <summary>Runs for <paramref name="duration"/> at about <paramref name="sessionsPerSecond"/> (0: as fast as the server answers); returns the experiment id.</summary>
    public async Task<string> RunAsync(string kind, TimeSpan duration, double sessionsPerSecond, int seed, CancellationToken cancellationToken)
    {
        await WaitUntilHealthyAsync(cancellationToken);
        var experiment = await StartExperimentAsync(kind, cancellationToken);
        var compares = kind == BlendExperiment ? "the configured and the learned recommendation blend" : "popular and personalised recommendations";
        terminal.MarkupLineInterpolated($"[green]Simulating shoppers for {duration.TotalMinutes:0.#} min[/] against the running API; experiment [bold]{experiment}[/] compares {compares}.");
        var deadline = DateTimeOffset.UtcNow + duration;
        const int Workers = 4;
        var interval = sessionsPerSecond > 0 ? TimeSpan.FromSeconds(Workers / sessionsPerSecond) : TimeSpan.Zero;
        var active = shoppers.Where(s => !s.Churned && s.TopCategories.Count > 0).ToList();
        if (active.Count == 0) throw new InvalidOperationException("The demo truth lists no active shopper to simulate.");
        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(seed * 31 + w);
            while (DateTimeOffset.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
            {
                var started = DateTimeOffset.UtcNow;
                try
                {
                    await SessionAsync(active[random.Next(active.Count)], random, cancellationToken);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref _errors);
                }
                var wait = interval - (DateTimeOffset.UtcNow - started);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken);
            }
        }, cancellationToken)).ToList();
        var progress = Task.Run(async () =>
        {
            while (!workers.All(w => w.IsCompleted))
            {
                await Task.WhenAny(Task.WhenAll(workers), Task.Delay(TimeSpan.FromSeconds(15), cancellationToken));
                terminal.MarkupLineInterpolated(
                    $"[grey]simulation: {Interlocked.Read(ref _sessions):N0} sessions, {Interlocked.Read(ref _impressions):N0} impressions, {Interlocked.Read(ref _clicks):N0} clicks, {Interlocked.Read(ref _purchases):N0} purchases, {Interlocked.Read(ref _errors):N0} errors[/]");
            }
        }, cancellationToken);
        await Task.WhenAll(workers);
        await progress;
        return experiment;
    }

    private async Task SessionAsync(DemoTruth shopper, Random random, CancellationToken cancellationToken)
    {
        var user = Uri.EscapeDataString(shopper.UserId);
        var roll = random.NextDouble();
        string url;
        if (roll < 0.7) url = $"/v1/users/{user}/recommendations?n={Shown}";
        else if (roll < 0.85 && _itemsByLeaf.TryGetValue(Pick(shopper, random), out var leafItems))
            url = $"/v1/items/{Uri.EscapeDataString(leafItems[random.Next(leafItems.Count)])}/similar?n={Shown}&user={user}";
        else url = $"/v1/search?q={Uri.EscapeDataString(Pick(shopper, random).Split(CategoryPaths.Separator)[^1])}&n={Shown}&user={user}";

        using var response = await http.GetAsync(url, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            Interlocked.Increment(ref _errors);
            return;
        }
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var request = answer.GetProperty("request_id").GetString();
        var shown = answer.GetProperty("items").EnumerateArray().Take(Shown).Select(i => i.GetProperty("item_id").GetString()!).ToList();
        Interlocked.Increment(ref _sessions);
        if (shown.Count == 0) return;
        var now = DateTimeOffset.UtcNow;
        var events = new List<object>(shown.Count + 3);
        for (var p = 1; p <= shown.Count; p++)
            events.Add(new { user_id = shopper.UserId, type = "impression", item_id = shown[p - 1], request_id = request, position = p, timestamp = now });
        for (var p = 1; p <= shown.Count; p++)
        {
            if (random.NextDouble() >= responder.ClickProbability(shopper, shown[p - 1], p)) continue;
            events.Add(new { user_id = shopper.UserId, type = "click", item_id = shown[p - 1], request_id = request, position = p, timestamp = now });
            Interlocked.Increment(ref _clicks);
            var buy = responder.BuyProbability(shopper, shown[p - 1]);
            if (random.NextDouble() >= Math.Min(1, 2 * buy)) continue;
            events.Add(new { user_id = shopper.UserId, type = "add_to_cart", item_id = shown[p - 1], request_id = request, position = p, timestamp = now.AddSeconds(20) });
            if (random.NextDouble() >= 0.5) continue;
            // No request id: attributed by last touch to the answer that showed the item.
            events.Add(new { user_id = shopper.UserId, type = "purchase", item_id = shown[p - 1], timestamp = now.AddSeconds(60) });
            Interlocked.Increment(ref _purchases);
            break;
        }
        Interlocked.Add(ref _impressions, shown.Count);
        using var posted = await http.PostAsJsonAsync("/v1/events", new { events }, cancellationToken);
        if (!posted.IsSuccessStatusCode) Interlocked.Increment(ref _errors);
    }

    /// <summary>One of the shopper's favourite leaf categories, by their weights.</summary>
    private static string Pick(DemoTruth shopper, Random random)
    {
        var roll = random.NextDouble();
        for (var i = 0; i < shopper.TopCategories.Count; i++)
        {
            roll -= i < shopper.TopCategoryWeights.Count ? shopper.TopCategoryWeights[i] : 1.0 / shopper.TopCategories.Count;
            if (roll <= 0) return shopper.TopCategories[i];
        }
        return shopper.TopCategories[0];
    }

    private async Task WaitUntilHealthyAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var health = await http.GetAsync("/health", cancellationToken);
                if (health.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) when (attempt < 600)
            {
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    /// <summary>Stops a running recommendations experiment (an earlier simulation's), then creates and starts a fresh one.</summary>
    private async Task<string> StartExperimentAsync(string kind, CancellationToken cancellationToken)
    {
        var existing = await http.GetFromJsonAsync<JsonElement>("/v1/experiments", cancellationToken);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var report in existing.EnumerateArray())
        {
            var experiment = report.GetProperty("experiment");
            var id = experiment.GetProperty("id").GetString()!;
            ids.Add(id);
            if (experiment.GetProperty("surface").GetString() == "recommendations" && experiment.GetProperty("state").GetString() == "running")
                (await http.PostAsync($"/v1/experiments/{id}/stop", null, cancellationToken)).Dispose();
        }
        var prefix = kind == BlendExperiment ? "demo-fixed-vs-learned-blend" : "demo-popular-vs-personalised";
        var name = prefix;
        for (var n = 2; ids.Contains(name); n++) name = string.Create(CultureInfo.InvariantCulture, $"{prefix}-{n}");
        object body = kind == BlendExperiment
            ? new
            {
                id = name,
                name = "Configured vs learned blend (simulation) / 配置权重 vs 学习权重（模拟）",
                surface = "recommendations",
                variants = new object[]
                {
                    new { name = "configured", traffic = 0.5 },
                    new { name = "learned", traffic = 0.5, strategy = new { blend = "learned" } },
                },
            }
            : new
            {
                id = name,
                name = "Popular vs personalised (simulation) / 热门 vs 个性化（模拟）",
                surface = "recommendations",
                variants = new object[]
                {
                    new { name = "popular", traffic = 0.5, strategy = new { sources = new Dictionary<string, double> { ["popularity"] = 1 }, personalize = false } },
                    new { name = "personalised", traffic = 0.5 },
                },
            };
        using (var created = await http.PostAsJsonAsync("/v1/experiments", body, cancellationToken))
            if (!created.IsSuccessStatusCode) throw new InvalidOperationException($"Creating the experiment failed: {await created.Content.ReadAsStringAsync(cancellationToken)}");
        using (var started = await http.PostAsync($"/v1/experiments/{name}/start", null, cancellationToken))
            if (!started.IsSuccessStatusCode) throw new InvalidOperationException($"Starting the experiment failed: {await started.Content.ReadAsStringAsync(cancellationToken)}");
        return name;
    }

    /// <summary>Prints the experiment's per-variant figures; writes them as JSON to <paramref name="output"/> when given.</summary>
    public async Task ReportAsync(string experiment, FileInfo? output, CancellationToken cancellationToken)
    {
        var report = await http.GetFromJsonAsync<JsonElement>($"/v1/experiments/{experiment}", cancellationToken);
        var table = new Table().AddColumns("variant", "impressions", "CTR (95 %)", "conversion (95 %)", "RPM", "vs control");
        foreach (var v in report.GetProperty("variants").EnumerateArray())
        {
            var figures = v.GetProperty("figures");
            var test = v.TryGetProperty("vs_control", out var t) ? t : (JsonElement?)null;
            table.AddRow(
                Markup.Escape(v.GetProperty("name").GetString()!),
                figures.GetProperty("shown").GetInt64().ToString("N0", CultureInfo.InvariantCulture),
                Rate(figures.GetProperty("ctr")),
                Rate(figures.GetProperty("conversion")),
                figures.GetProperty("revenue_per_thousand").GetProperty("estimate").GetDouble().ToString("0.00", CultureInfo.InvariantCulture),
                test is { } x
                    ? string.Create(CultureInfo.InvariantCulture,
                        $"CTR {x.GetProperty("ctr").GetProperty("difference").GetDouble():+0.00%;-0.00%} (p={x.GetProperty("ctr").GetProperty("p_value").GetDouble():0.####}), conversion p={x.GetProperty("conversion").GetProperty("p_value").GetDouble():0.####}")
                    : "control");
        }
        terminal.MarkupLineInterpolated($"[bold]{experiment}[/]: {Interlocked.Read(ref _sessions):N0} sessions, {Interlocked.Read(ref _errors):N0} errors");
        terminal.Write(table);
        if (output is not null)
        {
            var summary = new
            {
                experiment,
                sessions = Interlocked.Read(ref _sessions),
                errors = Interlocked.Read(ref _errors),
                report,
                online = await http.GetFromJsonAsync<JsonElement>("/v1/metrics/online?by=surface,source", cancellationToken),
                learned_blend = await http.GetFromJsonAsync<JsonElement>("/v1/metrics/online/blend", cancellationToken),
            };
            await File.WriteAllTextAsync(output.FullName, JsonSerializer.Serialize(summary, PersonaJson.Options), cancellationToken);
            terminal.MarkupLineInterpolated($"[grey]Written to {output.FullName}.[/]");
        }
    }

    private static string Rate(JsonElement interval) => string.Create(CultureInfo.InvariantCulture,
        $"{interval.GetProperty("estimate").GetDouble():P2} [[{interval.GetProperty("low").GetDouble():P2}, {interval.GetProperty("high").GetDouble():P2}]]");
}
