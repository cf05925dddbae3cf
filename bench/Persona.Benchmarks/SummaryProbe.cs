using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Demo;
using Persona.Generative;
using Persona.Hosting;
using Persona.Hosting.Generative;

namespace Persona.Benchmarks;

/// <summary>
/// How fast profile summaries refresh on the demo shop (docs/generative.md, step 2): the demo shop imported into a fresh
/// SQLite folder; every shopper's template summary (no endpoint); then <c>--shoppers</c> shoppers summarised by an
/// in-process OpenAI-compatible endpoint answering after <c>--delay</c> ms with the profile's own labels, at most
/// <c>--concurrency</c> calls at once (the server's background does the same), each answer checked and stored.
/// <c>--summary-probe [--users 3000] [--shoppers 400] [--delay 200] [--concurrency 4]</c>; prints one JSON object.
/// </summary>
public static class SummaryProbe
{
    public static void Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task RunAsync(string[] args)
    {
        var users = Arg(args, "--users", DemoOptions.DefaultUsers);
        var shoppers = Arg(args, "--shoppers", 400);
        var delay = Arg(args, "--delay", 200);
        var concurrency = Arg(args, "--concurrency", 4);
        var folder = Path.Combine(Path.GetTempPath(), "persona-summary-probe", Guid.NewGuid().ToString("n"));
        try
        {
            var options = new PersonaOptions { DataDirectory = folder };
            await using var engine = new PersonaEngine(PersonaStores.Create(options), Options.Create(options), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
            await engine.StartAsync(progress: null, CancellationToken.None);
            var shop = new DemoShopGenerator(new DemoOptions { Users = users }).Generate();
            await PersonaImporter.ImportShopAsync(engine, shop, progress: null, CancellationToken.None);
            var ids = engine.ProfileUsers.Order(StringComparer.Ordinal).ToList();

            var off = new GenerativeOptions();
            using var templateOnly = new GenerativeEndpoint(null, off);
            var templates = new ProfileSummaries(engine, templateOnly, TimeProvider.System, NullLogger<ProfileSummaries>.Instance);
            var clock = Stopwatch.StartNew();
            var tagged = 0;
            foreach (var id in ids)
                if (engine.GetProfile(id, enrich: false) is { Status: ProfileStatus.Found, Profile: { } profile })
                {
                    await templates.DescribeAsync(id, profile, CancellationToken.None);
                    if (profile.Tags.Count > 0) tagged++;
                }
            var templateSeconds = clock.Elapsed.TotalSeconds;

            await using var endpoint = await BenchChatEndpoint.StartAsync(TimeSpan.FromMilliseconds(delay), Echo);
            var on = new GenerativeOptions { BaseUrl = endpoint.BaseUrl, Model = "bench-fake", MaxConcurrency = concurrency, TimeoutSeconds = 30 };
            using var modelEndpoint = new GenerativeEndpoint(new GenerativeClient(on), on);
            var summaries = new ProfileSummaries(engine, modelEndpoint, TimeProvider.System, NullLogger<ProfileSummaries>.Instance);
            var sample = ids.Where((_, i) => i % Math.Max(1, ids.Count / shoppers) == 0).Take(shoppers).ToList();
            clock.Restart();
            await Parallel.ForEachAsync(sample, new ParallelOptions { MaxDegreeOfParallelism = concurrency },
                async (id, token) => await summaries.RefreshAsync(id, token));
            var modelSeconds = clock.Elapsed.TotalSeconds;
            var figures = summaries.Figures;
            var rate = (figures.Generated + figures.Rejected) / modelSeconds;

            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["shoppers"] = ids.Count,
                ["shoppers_with_tags"] = tagged,
                ["template_summaries_per_s"] = Math.Round(ids.Count / templateSeconds),
                ["endpoint_delay_ms"] = delay,
                ["max_concurrency"] = concurrency,
                ["model_shoppers_asked"] = sample.Count,
                ["model_summaries_stored"] = figures.Generated,
                ["model_summaries_refused"] = figures.Rejected,
                ["model_failures"] = figures.Failed,
                ["model_summaries_per_s"] = Math.Round(rate, 1),
                ["mean_call_ms"] = figures.MeanModelMs,
                ["whole_shop_refresh_s"] = Math.Round(tagged / rate),
                ["last_refusal"] = figures.LastRejection ?? "",
            }, new JsonSerializerOptions { WriteIndented = true }));
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>A model that does as it is told: one sentence per tag, each its own label, claiming the tags.</summary>
    private static string Echo(JsonElement request)
    {
        var facts = JsonDocument.Parse(request.GetProperty("messages")[1].GetProperty("content").GetString()!).RootElement;
        var tags = facts.GetProperty("tags").EnumerateArray().ToList();
        return JsonSerializer.Serialize(new
        {
            en = string.Join(" ", tags.Select(t => t.GetProperty("en").GetString() + ".")),
            zh = string.Join("", tags.Select(t => t.GetProperty("zh").GetString() + "。")),
            claims = tags.Select(t => t.GetProperty("key").GetString()),
        });
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
