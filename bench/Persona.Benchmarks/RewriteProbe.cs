using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Persona.Core.Demo;
using Persona.Core.Search;
using Persona.Generative;
using Persona.Hosting;
using Persona.Hosting.Generative;

namespace Persona.Benchmarks;

/// <summary>
/// What query rewriting adds to a search's latency (docs/generative.md, step 3): the demo shop's catalog in a lexical
/// search index, long queries in Chinese and English searched one after another (p50/p99 of rewrite + search) with
/// (a) no endpoint, (b) an in-process OpenAI-compatible endpoint answering a valid rewrite after <c>--delay</c> ms, and
/// (c) one answering after 5 s, past the budget; (b) again with the answer cache on. Otherwise the answer cache and the
/// index's candidate cache are off, so every search asks and searches (the eight queries repeat).
/// <c>--rewrite-probe [--items 6000] [--searches 60] [--delay 200] [--budget 300]</c>; prints one JSON object.
/// </summary>
public static class RewriteProbe
{
    private static readonly string[] Queries =
    [
        "送给妈妈的保湿面霜，两百块以内",
        "a gift for a runner under $50",
        "适合夏天用的清爽防晒霜不要太贵",
        "wireless earbuds for the gym with long battery life",
        "给刚出生的宝宝买的纯棉衣服",
        "a cookbook for someone who just started cooking",
        "办公室午休用的颈枕，一百元左右",
        "lightweight hiking backpack for weekend trips",
    ];

    /// <summary>A rewrite that checks against any demo-shop vocabulary: a top-level category, a price, keywords.</summary>
    private const string Rewrite = """{"categories":["Beauty"],"brands":[],"price_min":null,"price_max":200,"keywords":"gift"}""";

    public static void Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task RunAsync(string[] args)
    {
        var items = Arg(args, "--items", DemoOptions.DefaultItems);
        var searches = Arg(args, "--searches", 60);
        var delay = Arg(args, "--delay", 200);
        var budget = Arg(args, "--budget", 300);
        var catalog = new DemoShopGenerator(new DemoOptions { Users = 1, Items = items }).Generate().Items;
        using var index = new ProductSearchIndex(new ProductSearchOptions { Semantic = false, CandidateCacheSeconds = 0 });
        index.Upsert(catalog);

        var none = await MeasureAsync(index, new QueryRewriter(null), searches);
        await using var fast = await BenchChatEndpoint.StartAsync(TimeSpan.FromMilliseconds(delay), _ => Rewrite);
        var answering = await MeasureAsync(index, Rewriter(fast, budget, cacheMinutes: 0), searches);
        // The warm-up asked every query once: with the answer cache on, each search below reuses an answer.
        var cached = await MeasureAsync(index, Rewriter(fast, budget, cacheMinutes: 60), searches);
        await using var slow = await BenchChatEndpoint.StartAsync(TimeSpan.FromSeconds(5), _ => Rewrite);
        var late = await MeasureAsync(index, Rewriter(slow, budget, cacheMinutes: 0), searches);

        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["items"] = index.Count,
            ["searches_each"] = searches,
            ["index"] = "lexical (no text encoder), candidate cache off",
            ["budget_ms"] = budget,
            ["no_endpoint"] = none,
            [$"endpoint_{delay}ms"] = answering,
            [$"endpoint_{delay}ms_answer_cache_on"] = cached,
            ["endpoint_5000ms_timeout"] = late,
        }, new JsonSerializerOptions { WriteIndented = true }));
    }

    private static QueryRewriter Rewriter(BenchChatEndpoint endpoint, int budget, int cacheMinutes)
    {
        var options = new GenerativeOptions
        {
            BaseUrl = endpoint.BaseUrl, Model = "bench-fake", TimeoutSeconds = 10, CacheMinutes = cacheMinutes, RewriteBudgetMilliseconds = budget,
        };
        return new QueryRewriter(new GenerativeEndpoint(new GenerativeClient(options), options));
    }

    /// <summary>Rewrite + search, one at a time, after a warm-up of every query (code compiled, connection open).</summary>
    private static async Task<Dictionary<string, object>> MeasureAsync(ProductSearchIndex index, QueryRewriter rewriter, int searches)
    {
        foreach (var query in Queries) await SearchAsync(index, rewriter, query);
        var times = new double[searches];
        var sources = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < searches; i++)
        {
            var clock = Stopwatch.StartNew();
            var (result, rewrite) = await SearchAsync(index, rewriter, Queries[i % Queries.Length]);
            times[i] = clock.Elapsed.TotalMilliseconds;
            GC.KeepAlive(result);
            var source = rewrite is null ? "not sent" : rewrite.Source + (rewrite.Reason is { } reason ? " (" + reason.Split(':')[0] + ")" : "");
            sources[source] = sources.GetValueOrDefault(source) + 1;
        }
        Array.Sort(times);
        return new Dictionary<string, object>
        {
            ["p50_ms"] = Round(Percentile(times, 0.50)),
            ["p99_ms"] = Round(Percentile(times, 0.99)),
            ["mean_ms"] = Round(times.Average()),
            ["answered_by"] = sources,
        };
    }

    private static async Task<(SearchResult, QueryRewrite?)> SearchAsync(ProductSearchIndex index, QueryRewriter rewriter, string query)
    {
        var (request, rewrite) = await rewriter.RewriteAsync(index, catalog: null, new SearchRequest { Query = query, Limit = 20 }, CancellationToken.None);
        return (index.Search(request), rewrite);
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static double Round(double ms) => Math.Round(ms, 2);

    private static int Arg(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
