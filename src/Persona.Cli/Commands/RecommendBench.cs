using System.CommandLine;
using System.Diagnostics;
using Persona.Hosting;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary>What one recommendation load run measured.</summary>
/// <param name="Requests">Completed requests (errors included).</param>
/// <param name="Seconds">Wall time of the timed part.</param>
/// <param name="P50Ms">Median latency, milliseconds.</param>
/// <param name="P99Ms">99th percentile latency, milliseconds.</param>
/// <param name="MaxMs">Slowest request, milliseconds.</param>
/// <param name="Errors">Responses that were not 2xx.</param>
public sealed record RecommendBenchResult(int Requests, double Seconds, double P50Ms, double P99Ms, double MaxMs, int Errors)
{
    public double RequestsPerSecond => Seconds > 0 ? Requests / Seconds : 0;
}

/// <summary>
/// <c>bench recommend</c>: GET <c>/v1/users/{id}/recommendations</c> for random real users of a data folder from
/// many concurrent clients on loopback, against a server already running on that folder, after a short warm-up.
/// </summary>
public static class RecommendBench
{
    public static Command Create()
    {
        var url = BenchCommand.Url();
        var data = CommonOptions.Data();
        data.Description = "Data folder the server runs on; the users to ask for are read from its events.";
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent clients.", DefaultValueFactory = _ => 64 };
        var key = BenchCommand.Key();
        var seconds = new Option<int>("--seconds") { Description = "How long to measure.", DefaultValueFactory = _ => 20 };
        var warmup = new Option<int>("--warmup") { Description = "Seconds of untimed requests first, so the server's JIT has settled.", DefaultValueFactory = _ => 5 };
        var n = new Option<int>("--n") { Description = "Items per request.", DefaultValueFactory = _ => 10 };
        var query = new Option<string>("--query") { Description = "Extra query string, e.g. \"excludeSeen=true&diversity=0.3\".", DefaultValueFactory = _ => "" };
        var command = new Command("recommend", "GET recommendations for random users concurrently and report throughput and p50/p99 latency.")
        {
            url, key, data, concurrency, seconds, warmup, n, query,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!await EngineSession.RequireStoreAsync(parse.GetValue(data)!, parse.InvocationConfiguration.Error, cancellationToken)) return 2;
            var users = await ReadUsersAsync(parse.GetValue(data)!, cancellationToken);
            if (users.Count == 0)
            {
                Console.Error.WriteLine("No users with events in that data folder.");
                return 2;
            }
            var extra = parse.GetValue(query)!;
            var result = await RunAsync(parse.GetValue(url)!, users, parse.GetValue(concurrency), TimeSpan.FromSeconds(parse.GetValue(seconds)),
                parse.GetValue(n), extra, TimeSpan.FromSeconds(parse.GetValue(warmup)), parse.GetValue(key), cancellationToken);
            AnsiConsole.MarkupLineInterpolated($"recommend: {result.Requests:N0} requests for {users.Count:N0} users with {parse.GetValue(concurrency)} clients in {result.Seconds:0.0} s: [bold]{result.RequestsPerSecond:N0} req/s[/], p50 {result.P50Ms:0.00} ms, p99 {result.P99Ms:0.00} ms, max {result.MaxMs:0.0} ms, errors {result.Errors}");
            return result.Errors == 0 ? 0 : 1;
        });
        return command;
    }

    /// <summary>Runs the load: <paramref name="concurrency"/> clients, each asking for a random user until the time is up.</summary>
    public static async Task<RecommendBenchResult> RunAsync(
        string url, IReadOnlyList<string> users, int concurrency, TimeSpan duration, int n = 10, string extraQuery = "",
        TimeSpan? warmup = null, string? key = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        if (users.Count == 0) throw new ArgumentException("No users to ask for.", nameof(users));
        using var client = BenchCommand.CreateClient(url, concurrency, key);
        var suffix = $"?n={n}" + (string.IsNullOrEmpty(extraQuery) ? "" : "&" + extraQuery.TrimStart('?', '&'));
        if (warmup is { } w && w > TimeSpan.Zero) await LoadAsync(client, users, suffix, concurrency, w, seed: 1000, cancellationToken);

        var clock = Stopwatch.StartNew();
        var (samples, errors) = await LoadAsync(client, users, suffix, concurrency, duration, seed: 0, cancellationToken);
        var seconds = clock.Elapsed.TotalSeconds;
        Array.Sort(samples);
        return new RecommendBenchResult(samples.Length, seconds, BenchCommand.Percentile(samples, 0.50), BenchCommand.Percentile(samples, 0.99),
            samples.Length == 0 ? double.NaN : samples[^1], errors);
    }

    private static Task<(double[] Latencies, int Errors)> LoadAsync(
        HttpClient client, IReadOnlyList<string> users, string suffix, int concurrency, TimeSpan duration, int seed, CancellationToken cancellationToken) =>
        BenchCommand.RunClientsAsync(client, concurrency, duration,
            random => $"/v1/users/{Uri.EscapeDataString(users[random.Next(users.Count)])}/recommendations{suffix}", seed, cancellationToken);

    /// <summary>Distinct users with events in the folder's store (read through the store, beside the running server).</summary>
    public static async Task<IReadOnlyList<string>> ReadUsersAsync(DirectoryInfo data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        await using var store = PersonaStores.Create(EngineSession.OptionsFor(data));
        await store.InitializeAsync(cancellationToken);
        var users = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var e in store.ReadEventsAsync(0, cancellationToken)) users.Add(e.UserId);
        return [.. users.Order(StringComparer.Ordinal)];
    }
}
