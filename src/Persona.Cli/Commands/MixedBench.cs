using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Persona.Abstractions;
using Persona.Core.Import;
using Persona.Hosting;

namespace Persona.Cli.Commands;

/// <summary>The operations of the mixed load.</summary>
public enum MixedOperation
{
    Ingest,
    Profile,
    Recommend,
    Search,
}

/// <summary>What the mixed load asks for: users with events, real catalog item ids and real search queries.</summary>
public sealed record MixedLoadSources(IReadOnlyList<string> Users, IReadOnlyList<string> ItemIds, IReadOnlyList<string> Queries)
{
    /// <summary>Users and queries of the catalog: <paramref name="items"/> give the ids and, through their titles and categories, the queries.</summary>
    public static MixedLoadSources From(IReadOnlyList<string> users, IReadOnlyList<Item> items) =>
        new(users, [.. items.Select(i => i.Id)], SearchBench.Queries(items, 2000, seed: 5));
}

/// <summary>How the mixed load runs.</summary>
public sealed record MixedLoadOptions
{
    public static readonly IReadOnlyDictionary<MixedOperation, int> DefaultMix = new Dictionary<MixedOperation, int>
    {
        [MixedOperation.Ingest] = 1,
        [MixedOperation.Profile] = 4,
        [MixedOperation.Recommend] = 4,
        [MixedOperation.Search] = 2,
    };

    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(5);

    public int Concurrency { get; init; } = 32;

    /// <summary>Relative weight of each operation; a request picks one at random by weight.</summary>
    public IReadOnlyDictionary<MixedOperation, int> Mix { get; init; } = DefaultMix;

    /// <summary>Events per ingest request.</summary>
    public int BatchSize { get; init; } = 50;

    /// <summary>Share of ingested events that belong to users new to the store (the rest go to existing users).</summary>
    public double NewUserShare { get; init; } = 0.2;

    /// <summary>
    /// How many distinct new users the run draws from: a shop's customer base grows slowly, and a bounded pool lets
    /// the per-user state settle so that memory growth from a leak would stand out.
    /// </summary>
    public int NewUsers { get; init; } = 2_000;

    /// <summary>How often a progress line is printed and the server's resident memory sampled.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Makes event ids unique to this run, so a rerun against the same store stores new events.</summary>
    public string RunId { get; init; } = Guid.NewGuid().ToString("n")[..8];

    /// <summary>Parses <c>ingest=1,profile=4,recommend=4,search=2</c>; operations left out get weight 0.</summary>
    public static IReadOnlyDictionary<MixedOperation, int> ParseMix(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var mix = Enum.GetValues<MixedOperation>().ToDictionary(o => o, _ => 0);
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            // Names only: Enum.TryParse would also take "2" for the third operation.
            if (pair.Length != 2 || Enum.GetNames<MixedOperation>().FirstOrDefault(n => n.Equals(pair[0], StringComparison.OrdinalIgnoreCase)) is not { } name
                || !Enum.TryParse<MixedOperation>(name, out var operation)
                || !int.TryParse(pair[1], NumberStyles.None, CultureInfo.InvariantCulture, out var weight))
                throw new FormatException($"'{part}' is not OPERATION=WEIGHT with OPERATION one of {string.Join(", ", Enum.GetNames<MixedOperation>().Select(n => n.ToLowerInvariant()))} and WEIGHT a whole number ≥ 0.");
            mix[operation] = weight;
        }
        if (mix.Values.Sum() == 0) throw new FormatException("At least one operation needs a weight above 0.");
        return mix;
    }
}

/// <summary>Latency and errors of one operation kind.</summary>
public sealed record MixedOperationResult(MixedOperation Operation, int Requests, int Errors, double PerSecond, double P50Ms, double P99Ms, double MaxMs);

/// <summary>The server's resident memory at one moment of the run.</summary>
public sealed record MemorySample(double Seconds, long ResidentBytes);

/// <summary>Resident memory over the run and whether it looks bounded.</summary>
/// <param name="StartBytes">At the start of the run.</param>
/// <param name="PeakBytes">Largest sample.</param>
/// <param name="EndBytes">At the end of the run.</param>
/// <param name="SecondHalfSlopeMibPerMinute">Least-squares slope of the samples taken in the second half of the run.</param>
/// <param name="Bounded">True when that slope would take more than 100 minutes to add the peak again (under 1 % of the peak a minute).</param>
/// <param name="Samples">Every sample, in time order.</param>
public sealed record MemoryReport(long StartBytes, long PeakBytes, long EndBytes, double SecondHalfSlopeMibPerMinute, bool Bounded, IReadOnlyList<MemorySample> Samples);

/// <summary>The outcome of a mixed load run.</summary>
/// <param name="Seconds">Wall time of the run.</param>
/// <param name="Concurrency">Concurrent clients.</param>
/// <param name="Requests">Completed requests, errors included.</param>
/// <param name="Errors">Non-2xx answers and failed requests.</param>
/// <param name="PerSecond">Requests a second over the run.</param>
/// <param name="Operations">The figures of each operation.</param>
/// <param name="EventsSent">Events in ingest requests that completed.</param>
/// <param name="EventsAcknowledged">Events the server reported stored or already stored in its 2xx answers.</param>
/// <param name="Memory">The server's resident memory, when it could be read.</param>
/// <param name="ErrorSamples">The first few errors, for the report.</param>
public sealed record MixedLoadResult(
    double Seconds, int Concurrency, int Requests, int Errors, double PerSecond, IReadOnlyList<MixedOperationResult> Operations,
    long EventsSent, long EventsAcknowledged, MemoryReport? Memory, IReadOnlyList<string> ErrorSamples)
{
    public bool Passed => Errors == 0 && EventsSent == EventsAcknowledged;
}

/// <summary>
/// Mixed load on a running server: concurrent clients each pick an operation by weight (ingest batches for existing
/// and new users with real item ids, profile reads, recommendations, personalised searches with real queries) until
/// the time is up. Any non-2xx answer or exception is an error. Takes the HttpClient, so tests run it in-process.
/// </summary>
public sealed class MixedLoadRunner(HttpClient client, MixedLoadSources sources, MixedLoadOptions options)
{
    private static readonly string[] EventTypes = ["view", "view", "view", "click", "add_to_cart", "favorite", "purchase"];
    private const int MaxErrorSamples = 10;

    /// <summary>Reads the server's resident memory in bytes (null when it cannot); sampled at start, each progress tick and the end.</summary>
    public Func<long?>? ResidentBytes { get; init; }

    /// <summary>Receives a progress line every <see cref="MixedLoadOptions.ProgressInterval"/>.</summary>
    public Action<string>? Progress { get; init; }

    public async Task<MixedLoadResult> RunAsync(CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Concurrency, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        if (sources.Users.Count == 0 || sources.ItemIds.Count == 0 || sources.Queries.Count == 0)
            throw new ArgumentException("The load needs users, item ids and queries.", nameof(sources));
        var weights = Enum.GetValues<MixedOperation>().Select(o => options.Mix.GetValueOrDefault(o)).ToArray();
        if (weights.Any(w => w < 0) || weights.Sum() == 0) throw new ArgumentException("The mix needs weights ≥ 0 and one above 0.", nameof(options));

        var operations = weights.Length;
        var counts = new int[operations];
        var errors = new int[operations];
        var errorSamples = new List<string>();
        long sent = 0, acknowledged = 0, batches = -1;
        var memory = new List<MemorySample>();
        var clock = Stopwatch.StartNew();
        Sample(memory, 0);
        var deadline = Stopwatch.GetTimestamp() + (long)(options.Duration.TotalSeconds * Stopwatch.Frequency);

        void Fail(int op, string what)
        {
            Interlocked.Increment(ref errors[op]);
            lock (errorSamples)
                if (errorSamples.Count < MaxErrorSamples) errorSamples.Add($"{(MixedOperation)op}: {what}");
        }

        var workers = Enumerable.Range(0, options.Concurrency).Select(async worker =>
        {
            var random = new Random(worker);
            // Latencies per operation: (operations) lists of milliseconds.
            var samples = Enumerable.Range(0, operations).Select(_ => new List<double>()).ToArray();
            while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
            {
                var op = Pick(weights, random);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    if ((MixedOperation)op == MixedOperation.Ingest)
                    {
                        var batch = Interlocked.Increment(ref batches);
                        var (body, count) = Batch(batch, random);
                        using var content = new ByteArrayContent(body);
                        content.Headers.ContentType = new("application/json");
                        using var response = await client.PostAsync("/v1/events", content, cancellationToken);
                        if (!response.IsSuccessStatusCode)
                            Fail(op, $"{(int)response.StatusCode} {await Snippet(response, cancellationToken)}");
                        else
                        {
                            var ack = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
                            Interlocked.Add(ref acknowledged, ack.GetProperty("stored").GetInt32() + ack.GetProperty("duplicates").GetInt32());
                        }
                        Interlocked.Add(ref sent, count);
                    }
                    else
                    {
                        using var response = await client.GetAsync(ReadPath((MixedOperation)op, random), HttpCompletionOption.ResponseContentRead, cancellationToken);
                        if (!response.IsSuccessStatusCode) Fail(op, $"{(int)response.StatusCode} {await Snippet(response, cancellationToken)}");
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException
                                           && !cancellationToken.IsCancellationRequested)
                {
                    Fail(op, $"{ex.GetType().Name}: {ex.Message}");
                }
                samples[op].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Interlocked.Increment(ref counts[op]);
            }
            return samples;
        }).ToArray();

        var all = Task.WhenAll(workers);
        var ticker = new PeriodicTimer(options.ProgressInterval);
        var last = 0;
        var lastAt = 0.0;
        while (await Task.WhenAny(all, ticker.WaitForNextTickAsync(cancellationToken).AsTask()) != all)
        {
            var now = clock.Elapsed.TotalSeconds;
            var rss = Sample(memory, now);
            var done = counts.Sum();
            Progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"{now,5:0} s: {(done - last) / Math.Max(1e-9, now - lastAt),7:N0} req/s, {done:N0} requests, {errors.Sum()} errors, events sent {Interlocked.Read(ref sent):N0} acked {Interlocked.Read(ref acknowledged):N0}, server RSS {Mib(rss)}"));
            (last, lastAt) = (done, now);
        }
        ticker.Dispose();
        var perWorker = await all;
        var seconds = clock.Elapsed.TotalSeconds;
        Sample(memory, seconds);

        var results = new List<MixedOperationResult>();
        for (var op = 0; op < operations; op++)
        {
            var latencies = perWorker.SelectMany(w => w[op]).ToArray();
            Array.Sort(latencies);
            results.Add(new MixedOperationResult((MixedOperation)op, latencies.Length, errors[op], latencies.Length / seconds,
                BenchCommand.Percentile(latencies, 0.50), BenchCommand.Percentile(latencies, 0.99), latencies.Length == 0 ? double.NaN : latencies[^1]));
        }
        var requests = results.Sum(r => r.Requests);
        return new MixedLoadResult(seconds, options.Concurrency, requests, results.Sum(r => r.Errors), requests / seconds, results,
            sent, acknowledged, memory.Count == 0 ? null : Summarise(memory, seconds), errorSamples);
    }

    private long? Sample(List<MemorySample> memory, double seconds)
    {
        var bytes = ResidentBytes?.Invoke();
        if (bytes is { } b) memory.Add(new MemorySample(seconds, b));
        return bytes;
    }

    private static int Pick(int[] weights, Random random)
    {
        var r = random.Next(weights.Sum());
        var op = 0;
        while (r >= weights[op]) r -= weights[op++];
        return op;
    }

    private string ReadPath(MixedOperation op, Random random)
    {
        var user = Uri.EscapeDataString(sources.Users[random.Next(sources.Users.Count)]);
        return op switch
        {
            MixedOperation.Profile => $"/v1/users/{user}/profile",
            MixedOperation.Recommend => $"/v1/users/{user}/recommendations?n=10",
            _ => $"/v1/search?q={Uri.EscapeDataString(sources.Queries[random.Next(sources.Queries.Count)])}&n=20&user={user}",
        };
    }

    /// <summary>A JSON batch of behaviour on real items, for existing users and new ones; ids unique to the run.</summary>
    private (byte[] Body, int Count) Batch(long batch, Random random)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var json = new StringBuilder(options.BatchSize * 160).Append("{\"events\":[");
        for (var i = 0; i < options.BatchSize; i++)
        {
            var user = random.NextDouble() < options.NewUserShare
                ? $"mixed-{options.RunId}-u{random.Next(options.NewUsers)}"
                : sources.Users[random.Next(sources.Users.Count)];
            var type = EventTypes[random.Next(EventTypes.Length)];
            if (i > 0) json.Append(',');
            json.Append("{\"id\":\"mixed-").Append(options.RunId).Append('-').Append(batch).Append('-').Append(i)
                .Append("\",\"user_id\":").Append(JsonSerializer.Serialize(user))
                .Append(",\"type\":\"").Append(type)
                .Append("\",\"item_id\":").Append(JsonSerializer.Serialize(sources.ItemIds[random.Next(sources.ItemIds.Count)]))
                .Append(",\"timestamp\":").Append(now - random.Next(60_000))
                .Append(",\"device\":\"mobile\",\"channel\":\"app\"}");
        }
        return (Encoding.UTF8.GetBytes(json.Append("]}").ToString()), options.BatchSize);
    }

    private static async Task<string> Snippet(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return text.Length <= 200 ? text : text[..200] + "…";
    }

    /// <summary>Start, peak, end and the second half's least-squares slope; "bounded" when that slope is under 1 % of the peak a minute.</summary>
    public static MemoryReport Summarise(IReadOnlyList<MemorySample> samples, double seconds)
    {
        var half = samples.Where(s => s.Seconds >= seconds / 2).ToArray();
        var slope = 0.0;
        if (half.Length >= 2)
        {
            var meanT = half.Average(s => s.Seconds);
            var meanB = half.Average(s => (double)s.ResidentBytes);
            var sxx = half.Sum(s => (s.Seconds - meanT) * (s.Seconds - meanT));
            var sxy = half.Sum(s => (s.Seconds - meanT) * (s.ResidentBytes - meanB));
            slope = sxx > 0 ? sxy / sxx * 60 / 1048576.0 : 0;
        }
        var peak = samples.Max(s => s.ResidentBytes);
        return new MemoryReport(samples[0].ResidentBytes, peak, samples[^1].ResidentBytes, slope, slope < 0.01 * peak / 1048576.0, samples);
    }

    internal static string Mib(long? bytes) => bytes is { } b ? string.Create(CultureInfo.InvariantCulture, $"{b / 1048576.0:N0} MiB") : "n/a";
}

/// <summary>
/// <c>bench mixed</c>: the sustained mixed load of issue 8 from this separate process, with the server's resident
/// memory read from <c>/proc/PID/status</c> (the PID given, or the process listening on the URL's port).
/// </summary>
internal static class MixedBench
{
    public static Command Create()
    {
        var url = BenchCommand.Url();
        var key = BenchCommand.Key();
        var seconds = new Option<int>("--seconds") { Description = "How long to run.", DefaultValueFactory = _ => 300 };
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent clients.", DefaultValueFactory = _ => 32 };
        var mix = new Option<string>("--mix") { Description = "Relative weights of the operations.", DefaultValueFactory = _ => "ingest=1,profile=4,recommend=4,search=2" };
        var batch = new Option<int>("--batch") { Description = "Events per ingest request.", DefaultValueFactory = _ => 50 };
        var newUsers = new Option<int>("--new-users") { Description = "Distinct new users the ingested events draw from (a fifth of the events go to them).", DefaultValueFactory = _ => new MixedLoadOptions().NewUsers };
        var dataset = new Option<string?>("--dataset") { Description = "amazon-beauty: users, items and queries come from the data set at --path (the one the server imported)." };
        dataset.AcceptOnlyFromAmong(SearchEvaluation.AmazonBeauty);
        var path = new Option<string?>("--path") { Description = "The amazon-beauty folder." };
        var data = new Option<DirectoryInfo?>("--data") { Description = "Data folder the server runs on: users, items and queries come from its store." };
        var pid = new Option<int?>("--server-pid") { Description = "The server's process id, for its resident memory (default: the process listening on the URL's port)." };
        var output = new Option<FileInfo?>("--output") { Description = "Also write the report as JSON to this file." };
        var warmup = new Option<int>("--warmup") { Description = "Seconds of the same load first, not measured, so the server's JIT and caches have settled.", DefaultValueFactory = _ => 10 };
        warmup.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0) r.AddError("--warmup must be at least 0.");
        });
        foreach (var option in new[] { seconds, concurrency, batch, newUsers })
            option.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<int>() < 1) r.AddError($"{option.Name} must be at least 1.");
            });
        mix.Validators.Add(r =>
        {
            try { MixedLoadOptions.ParseMix(r.GetValueOrDefault<string>() ?? ""); }
            catch (FormatException ex) { r.AddError($"--mix: {ex.Message}"); }
        });
        var command = new Command("mixed", "Sustained mixed load (ingest, profile, recommendations, search): throughput, p50/p99, errors, server resident memory.")
        {
            url, key, seconds, concurrency, mix, batch, newUsers, warmup, dataset, path, data, pid, output,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var sources = await ReadSourcesAsync(parse.GetValue(dataset), parse.GetValue(path), parse.GetValue(data), cancellationToken);
            if (sources is null) return 2;
            var baseUrl = parse.GetValue(url)!;
            var serverPid = parse.GetValue(pid) ?? ServerMemory.FindListener(new Uri(baseUrl).Port);
            if (serverPid is null) Console.Error.WriteLine("Could not find the server's process (pass --server-pid); resident memory will not be reported.");
            var options = new MixedLoadOptions
            {
                Duration = TimeSpan.FromSeconds(parse.GetValue(seconds)),
                Concurrency = parse.GetValue(concurrency),
                Mix = MixedLoadOptions.ParseMix(parse.GetValue(mix)!),
                BatchSize = parse.GetValue(batch),
                NewUsers = parse.GetValue(newUsers),
            };
            using var client = BenchCommand.CreateClient(baseUrl, options.Concurrency, parse.GetValue(key));
            Func<long?>? residentBytes = serverPid is { } p ? () => ServerMemory.ResidentBytes(p) : null;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"mixed load on {baseUrl} for {options.Duration.TotalSeconds:0} s, {options.Concurrency} clients, mix {parse.GetValue(mix)}, {sources.Users.Count:N0} users, {sources.ItemIds.Count:N0} items, {sources.Queries.Count:N0} queries, server pid {serverPid?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}, RSS before any load {MixedLoadRunner.Mib(residentBytes?.Invoke())} (load average {LoadAverage()})"));
            var warmupFailed = false;
            if (parse.GetValue(warmup) is > 0 and var warmupSeconds)
            {
                var warm = await new MixedLoadRunner(client, sources, options with { Duration = TimeSpan.FromSeconds(warmupSeconds), RunId = options.RunId + "w" })
                    .RunAsync(cancellationToken);
                warmupFailed = !warm.Passed;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"warm-up: {warm.Seconds:0} s, {warm.Requests:N0} requests, {warm.Errors} errors, events sent {warm.EventsSent:N0} acked {warm.EventsAcknowledged:N0} (not measured)"));
            }
            var eventsBefore = await ServerEventCountAsync(client, cancellationToken);
            var runner = new MixedLoadRunner(client, sources, options) { ResidentBytes = residentBytes, Progress = Console.WriteLine };
            var result = await runner.RunAsync(cancellationToken);
            var eventsAfter = await ServerEventCountAsync(client, cancellationToken);
            Console.WriteLine(Report(result, eventsBefore, eventsAfter));
            if (parse.GetValue(output) is { } file)
                await File.WriteAllTextAsync(file.FullName, JsonSerializer.Serialize(result, ReportJson), cancellationToken);
            return result.Passed && !warmupFailed ? 0 : 1;
        });
        return command;
    }

    private static readonly JsonSerializerOptions ReportJson = new(PersonaJson.Options)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The human-readable summary: one row per operation, totals, events acknowledged and memory.</summary>
    internal static string Report(MixedLoadResult result, long? eventsBefore = null, long? eventsAfter = null)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(string.Create(c, $"| operation | requests | req/s | p50 ms | p99 ms | max ms | errors |"));
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in result.Operations)
            text.AppendLine(string.Create(c, $"| {r.Operation.ToString().ToLowerInvariant()} | {r.Requests:N0} | {r.PerSecond:N0} | {r.P50Ms:0.0} | {r.P99Ms:0.0} | {r.MaxMs:0.0} | {r.Errors} |"));
        text.AppendLine(string.Create(c, $"| all | {result.Requests:N0} | {result.PerSecond:N0} | | | | {result.Errors} |"));
        text.Append(string.Create(c, $"{result.Seconds:0} s with {result.Concurrency} clients: {result.PerSecond:N0} req/s, errors {result.Errors}; events sent {result.EventsSent:N0}, acknowledged {result.EventsAcknowledged:N0} ({(result.EventsSent == result.EventsAcknowledged ? "equal" : "MISMATCH")})"));
        if (eventsBefore is { } before && eventsAfter is { } after)
            text.Append(string.Create(c, $"; the server's event count grew by {after - before:N0}"));
        text.AppendLine(".");
        if (result.Memory is { } m)
            text.AppendLine(string.Create(c,
                $"server RSS: start {MixedLoadRunner.Mib(m.StartBytes)}, peak {MixedLoadRunner.Mib(m.PeakBytes)}, end {MixedLoadRunner.Mib(m.EndBytes)}; second-half slope {m.SecondHalfSlopeMibPerMinute:+0.0;-0.0;0.0} MiB/min: {(m.Bounded ? "looks bounded" : "STILL GROWING")} (bounded = slope under 1 % of the peak a minute)."));
        foreach (var error in result.ErrorSamples) text.AppendLine("error: " + error);
        text.Append(result.Passed ? "PASS: no errors, every event acknowledged." : "FAIL: errors or unacknowledged events.");
        return text.ToString();
    }

    private static async Task<long?> ServerEventCountAsync(HttpClient client, CancellationToken cancellationToken)
    {
        try
        {
            var health = await client.GetFromJsonAsync<JsonElement>("/health", cancellationToken);
            return health.GetProperty("stats").GetProperty("events").GetInt64();
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static async Task<MixedLoadSources?> ReadSourcesAsync(string? dataset, string? path, DirectoryInfo? data, CancellationToken cancellationToken)
    {
        if (dataset is not null)
        {
            if (path is null || !AmazonBeautyReader.Exists(path))
            {
                Console.Error.WriteLine($"--dataset {dataset} needs --path, a folder with {AmazonBeautyReader.EventsFileName} and {AmazonBeautyReader.ItemsFileName}.");
                return null;
            }
            var items = await SearchBench.ReadItemsAsync(path, cancellationToken);
            var users = SearchBench.BeautyUsers(path).Distinct(StringComparer.Ordinal).ToArray();
            return MixedLoadSources.From(users, items);
        }
        if (data is null)
        {
            Console.Error.WriteLine("Pass --dataset amazon-beauty --path DIR, or --data DIR (the server's data folder).");
            return null;
        }
        if (!await EngineSession.RequireStoreAsync(data, Console.Error, cancellationToken)) return null;
        var storeUsers = await RecommendBench.ReadUsersAsync(data, cancellationToken);
        var storeItems = new List<Item>();
        await using (var store = PersonaStores.Create(EngineSession.OptionsFor(data)))
        {
            await store.InitializeAsync(cancellationToken);
            await foreach (var item in store.ReadItemsAsync(cancellationToken)) storeItems.Add(item);
        }
        if (storeUsers.Count == 0 || storeItems.Count == 0)
        {
            Console.Error.WriteLine($"The store in '{data.FullName}' has no users with events or no items.");
            return null;
        }
        return MixedLoadSources.From(storeUsers, storeItems);
    }
}

/// <summary>
/// Resident memory of another process on Linux: VmRSS from <c>/proc/PID/status</c>; the server's PID found through the
/// socket listening on its port (<c>/proc/net/tcp*</c> gives the socket's inode, <c>/proc/*/fd</c> the owner). Reading
/// from outside needs no change to the server and counts native memory (SQLite, BLAS) as well as the managed heap.
/// </summary>
public static class ServerMemory
{
    public static long? ResidentBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024; // "VmRSS:   123456 kB"
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException) { }
        return null;
    }

    /// <summary>The process with a socket listening on <paramref name="port"/>, or null (not Linux, not found or not readable).</summary>
    public static int? FindListener(int port)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table)) continue;
            // Columns: sl local_address rem_address st ... inode; local_address is HEXIP:HEXPORT, st 0A is LISTEN.
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (columns.Length < 10 || columns[3] != "0A") continue;
                var local = columns[1];
                if (int.TryParse(local.AsSpan(local.LastIndexOf(':') + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var p) && p == port)
                    inodes.Add($"socket:[{columns[9]}]");
            }
        }
        if (inodes.Count == 0) return null;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                foreach (var fd in Directory.EnumerateFiles(Path.Combine(dir, "fd")))
                    if (new FileInfo(fd).LinkTarget is { } target && inodes.Contains(target)) return pid;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
        return null;
    }
}
