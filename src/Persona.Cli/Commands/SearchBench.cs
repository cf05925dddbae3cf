using System.CommandLine;
using System.Diagnostics;
using Persona.Abstractions;
using Persona.Core.Import;
using Persona.Core.Search;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary>
/// <c>bench search</c>: p50/p99 of <c>GET /v1/search</c> under concurrent clients against a running server that holds
/// the Amazon Beauty catalog and events (queries: category paths and title fragments of catalog items; users: the data
/// set's), plus the in-process index build time and memory on the same catalog.
/// </summary>
internal static class SearchBench
{
    public static Command Create()
    {
        var url = BenchCommand.Url();
        var path = new Option<string>("--path") { Description = "The amazon-beauty folder (queries and users come from it).", Required = true };
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent clients.", DefaultValueFactory = _ => 64 };
        var seconds = new Option<int>("--seconds") { Description = "How long to run.", DefaultValueFactory = _ => 20 };
        var anonymous = new Option<bool>("--anonymous") { Description = "Send no user (non-personal searches)." };
        var buildOnly = new Option<bool>("--build-only") { Description = "Only measure the in-process index build." };
        var pathsOut = new Option<string?>("--paths-out")
        {
            Description = "Write 100,000 request paths drawn as the benchmark draws them to this file and stop, for another load generator (bench/wrk/search.lua).",
        };
        var key = BenchCommand.Key();
        var command = new Command("search", "GET /v1/search concurrently and report p50/p99 latency; measure index build time and memory.") { url, key, path, concurrency, seconds, anonymous, buildOnly, pathsOut };
        command.SetAction((parse, cancellationToken) => parse.GetValue(pathsOut) is { } file
            ? WritePathsAsync(parse.GetValue(path)!, file, !parse.GetValue(anonymous), cancellationToken)
            : RunAsync(parse.GetValue(url)!, parse.GetValue(path)!, parse.GetValue(concurrency), parse.GetValue(seconds), !parse.GetValue(anonymous), parse.GetValue(buildOnly), parse.GetValue(key), cancellationToken));
        return command;
    }

    /// <summary>The request paths of the benchmark: random (query, user) pairs of the data set.</summary>
    private static Func<Random, string> Requests(string path, IReadOnlyList<Item> items, bool personalize)
    {
        var queries = Queries(items, 2000, seed: 5);
        // One entry per event line, so active users are drawn as often as they act.
        var users = BeautyUsers(path);
        return rng =>
            $"/v1/search?q={Uri.EscapeDataString(queries[rng.Next(queries.Count)])}&n=20" + (personalize ? $"&user={Uri.EscapeDataString(users[rng.Next(users.Length)])}" : "");
    }

    /// <summary>The user of each line of an amazon-beauty events file, in file order.</summary>
    internal static string[] BeautyUsers(string path) =>
        [.. File.ReadLines(Path.Combine(path, AmazonBeautyReader.EventsFileName)).Select(l => l.Split(' ', 2)[0]).Where(u => u.Length > 0)];

    private static bool IsBeautyFolder(string path)
    {
        if (AmazonBeautyReader.Exists(path)) return true;
        Console.Error.WriteLine($"No {AmazonBeautyReader.EventsFileName} and {AmazonBeautyReader.ItemsFileName} in '{path}'.");
        return false;
    }

    private static async Task<int> WritePathsAsync(string path, string file, bool personalize, CancellationToken cancellationToken)
    {
        if (!IsBeautyFolder(path)) return 2;
        var request = Requests(path, await ReadItemsAsync(path, cancellationToken), personalize);
        var random = new Random(0);
        await File.WriteAllLinesAsync(file, Enumerable.Range(0, 100_000).Select(_ => request(random)), cancellationToken);
        Console.WriteLine($"Wrote 100,000 {(personalize ? "personalised" : "anonymous")} search paths to {file}.");
        return 0;
    }

    public static async Task<int> RunAsync(string url, string path, int concurrency, int seconds, bool personalize, bool buildOnly, string? key, CancellationToken cancellationToken)
    {
        if (!IsBeautyFolder(path)) return 2;
        var items = await ReadItemsAsync(path, cancellationToken);
        MeasureBuild(items, cancellationToken);
        if (buildOnly) return 0;

        var request = Requests(path, items, personalize);
        using var client = BenchCommand.CreateClient(url, concurrency, key);
        // Warm-up: the server's JIT and the first queries' caches settle before the clock starts.
        await BenchCommand.RunClientsAsync(client, concurrency, TimeSpan.FromSeconds(3), request, seed: 0, cancellationToken);
        var clock = Stopwatch.StartNew();
        var (latencies, errors) = await BenchCommand.RunClientsAsync(client, concurrency, TimeSpan.FromSeconds(seconds), request, seed: 0, cancellationToken);
        var elapsed = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        AnsiConsole.MarkupLineInterpolated($"search ({(personalize ? "personalised" : "anonymous")}): {latencies.Length:N0} requests with {concurrency} clients in {elapsed:0.0} s: [bold]{latencies.Length / elapsed:N0} req/s[/], p50 {BenchCommand.Percentile(latencies, 0.50):0.00} ms, p99 {BenchCommand.Percentile(latencies, 0.99):0.00} ms, errors {errors}");
        return errors == 0 ? 0 : 1;
    }

    /// <summary>The catalog of an amazon-beauty folder.</summary>
    internal static async Task<List<Item>> ReadItemsAsync(string path, CancellationToken cancellationToken)
    {
        var items = new List<Item>();
        await foreach (var r in new AmazonBeautyReader(path).ReadItemsAsync(cancellationToken: cancellationToken))
            if (r.Record is { } record) items.Add(record.Value);
        return items;
    }

    /// <summary>Real-looking queries: the category path and a title fragment of up to <paramref name="count"/> random catalog items.</summary>
    internal static List<string> Queries(IReadOnlyList<Item> items, int count, int seed)
    {
        var random = new Random(seed);
        var queries = new List<string>();
        foreach (var item in items.OrderBy(_ => random.Next()).Take(count))
        {
            if (item.CategoryPath.Count > 0) queries.Add(string.Join(' ', item.CategoryPath).ToLowerInvariant());
            if (SemanticPairs.Fragment(item.Title, random) is { } fragment) queries.Add(fragment);
        }
        return queries;
    }

    /// <summary>Builds the lexical index and trains the encoder in this process; reports time and managed memory held.</summary>
    private static void MeasureBuild(List<Item> items, CancellationToken cancellationToken)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var clock = Stopwatch.StartNew();
        using var index = new ProductSearchIndex();
        index.Upsert(items);
        var lexicalSeconds = clock.Elapsed.TotalSeconds;
        var afterLexical = GC.GetTotalMemory(forceFullCollection: true);
        clock.Restart();
        var encoder = SemanticEncoder.Train(SemanticPairs.Build(items), cancellationToken: cancellationToken);
        var trainSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        index.SetEncoder(encoder);
        var encodeSeconds = clock.Elapsed.TotalSeconds;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        AnsiConsole.MarkupLineInterpolated(
            $"index build: {items.Count:N0} items, {index.TermCount:N0} terms: lexical {lexicalSeconds:0.00} s, {(afterLexical - before) / 1048576.0:0.0} MiB; encoder training {trainSeconds:0.00} s, item vectors {encodeSeconds:0.00} s; total held {(after - before) / 1048576.0:0.0} MiB (encoder table {encoder.MemoryBytes / 1048576.0:0.0} MiB)");
        GC.KeepAlive(index);
    }
}
