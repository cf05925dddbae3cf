using System.CommandLine;
using System.CommandLine.Invocation;
using System.Diagnostics;
using System.Text;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary>
/// Load generators that run in their own process against a running server on loopback:
/// <c>bench ingest</c> posts synthetic event batches, <c>bench profile</c> reads profiles under concurrency.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure a running server: ingest throughput, profile, recommendation and search latency, sustained mixed load.");
        command.Add(CreateIngest());
        command.Add(CreateProfile());
        command.Add(RecommendBench.Create());
        command.Add(SearchBench.Create());
        command.Add(MixedBench.Create());
        foreach (var bench in command.Subcommands)
            if (bench.Action is AsynchronousCommandLineAction action) bench.Action = new ReportUnreachableServer(action);
        command.Add(ScaleBench.Create()); // starts its own server, so no --url to report
        command.Add(FailoverBench.Create()); // starts its own cluster
        return command;
    }

    /// <summary>Turns a refused or failed connection into one line naming the address, instead of a stack trace.</summary>
    private sealed class ReportUnreachableServer(AsynchronousCommandLineAction inner) : AsynchronousCommandLineAction
    {
        public override async Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.InvokeAsync(parseResult, cancellationToken);
            }
            catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError)
            {
                var url = parseResult.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>()
                    .FirstOrDefault(o => o.Option.Name == "--url")?.GetValueOrDefault<string>() ?? Server.PersonaServer.DefaultUrl;
                parseResult.InvocationConfiguration.Error.WriteLine($"Cannot reach the server at {url}: {ex.Message.TrimEnd('.')}. Start one with `persona serve` or pass --url.");
                return 2;
            }
        }
    }

    /// <summary>The API key the load generator sends (X-Api-Key); none for an open server.</summary>
    internal static Option<string?> Key() => new("--key") { Description = "API key to send (X-Api-Key); the server's keys come from Persona:Security:Keys. Omit for an open server." };

    /// <summary>The server to load (--url).</summary>
    internal static Option<string> Url() => new("--url") { Description = "Base address of the server.", DefaultValueFactory = _ => Server.PersonaServer.DefaultUrl };
    private static Option<int> Users() => new("--users") { Description = "Number of synthetic users (bench-u0 .. bench-uN).", DefaultValueFactory = _ => 5000 };
    private static Option<int> Concurrency(int defaultValue) => new("--concurrency") { Description = "Concurrent clients.", DefaultValueFactory = _ => defaultValue };

    private static Command CreateIngest()
    {
        var url = Url();
        var users = Users();
        var concurrency = Concurrency(8);
        var events = new Option<int>("--events") { Description = "Events to send in all.", DefaultValueFactory = _ => 500_000 };
        var batch = new Option<int>("--batch") { Description = "Events per request.", DefaultValueFactory = _ => 500 };
        var seed = new Option<int>("--seed") { Description = "Seeds event ids, so another run sends new events.", DefaultValueFactory = _ => Environment.TickCount };
        var warmup = new Option<int>("--warmup") { Description = "Events sent first and not timed, so the server's JIT has settled.", DefaultValueFactory = _ => 50_000 };
        var key = Key();
        var rabbitMq = new Option<string?>("--rabbitmq")
        {
            Description = "Publish the batches to this RabbitMQ broker (amqp://user:password@host:5672/) instead of POSTing them, and wait until the server at --url, which consumes the queue (Persona:RabbitMq:Uri), has stored them.",
        };
        var queue = new Option<string>("--queue") { Description = "With --rabbitmq: the queue the server consumes.", DefaultValueFactory = _ => Messaging.RabbitMq.RabbitMqIngestOptions.DefaultQueue };
        var command = new Command("ingest", "POST synthetic event batches concurrently (or publish them to RabbitMQ) and report durable events/s.") { url, key, users, concurrency, events, batch, seed, warmup, rabbitMq, queue };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var total = parse.GetValue(events);
            var batchSize = parse.GetValue(batch);
            var userCount = parse.GetValue(users);
            var runId = parse.GetValue(seed).ToString("x8");
            using var client = CreateClient(parse.GetValue(url)!, parse.GetValue(concurrency), parse.GetValue(key));
            if (parse.GetValue(rabbitMq) is { Length: > 0 } broker)
                return await RabbitMqIngestBench.RunAsync(client, broker, parse.GetValue(queue)!,
                    parse.GetValue(warmup) > 0 ? Bodies(runId + "w", parse.GetValue(warmup), batchSize, userCount) : [],
                    Bodies(runId, total, batchSize, userCount), total, parse.GetValue(concurrency), batchSize, cancellationToken);
            if (parse.GetValue(warmup) > 0)
                await PostAllAsync(client, Bodies(runId + "w", parse.GetValue(warmup), batchSize, userCount), parse.GetValue(concurrency), cancellationToken);

            var bodies = Bodies(runId, total, batchSize, userCount);
            var batches = bodies.Length;
            var clock = Stopwatch.StartNew();
            var (latencies, errors) = await PostAllAsync(client, bodies, parse.GetValue(concurrency), cancellationToken);
            var seconds = clock.Elapsed.TotalSeconds;
            Array.Sort(latencies);
            AnsiConsole.MarkupLineInterpolated($"ingest: {total:N0} events in {batches:N0} batches of {batchSize} with {parse.GetValue(concurrency)} clients: [bold]{total / seconds:N0} events/s[/] ({seconds:0.00} s), batch p50 {Percentile(latencies, 0.50):0.0} ms, p99 {Percentile(latencies, 0.99):0.0} ms, errors {errors}");
            return errors == 0 ? 0 : 1;
        });
        return command;
    }

    private static Command CreateProfile()
    {
        var url = Url();
        var users = Users();
        var concurrency = Concurrency(64);
        var seconds = new Option<int>("--seconds") { Description = "How long to run.", DefaultValueFactory = _ => 20 };
        var prefix = new Option<string>("--user-prefix") { Description = "User ids are PREFIX0 .. PREFIX(N-1).", DefaultValueFactory = _ => "bench-u" };
        var key = Key();
        var command = new Command("profile", "GET profiles of random users concurrently and report p50/p99 latency.") { url, key, users, concurrency, seconds, prefix };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var userCount = parse.GetValue(users);
            var userPrefix = parse.GetValue(prefix)!;
            using var client = CreateClient(parse.GetValue(url)!, parse.GetValue(concurrency), parse.GetValue(key));
            var clock = Stopwatch.StartNew();
            var (all, errors) = await RunClientsAsync(client, parse.GetValue(concurrency), TimeSpan.FromSeconds(parse.GetValue(seconds)),
                random => $"/v1/users/{userPrefix}{random.Next(userCount)}/profile", seed: 0, cancellationToken);
            Array.Sort(all);
            AnsiConsole.MarkupLineInterpolated($"profile: {all.Length:N0} requests with {parse.GetValue(concurrency)} clients in {clock.Elapsed.TotalSeconds:0.0} s: [bold]{all.Length / clock.Elapsed.TotalSeconds:N0} req/s[/], p50 {Percentile(all, 0.50):0.00} ms, p99 {Percentile(all, 0.99):0.00} ms, errors {errors}");
            return errors == 0 ? 0 : 1;
        });
        return command;
    }

    private static byte[][] Bodies(string runId, int total, int batchSize, int users)
    {
        var bodies = new byte[(total + batchSize - 1) / batchSize][];
        for (var b = 0; b < bodies.Length; b++)
            bodies[b] = BuildBatch(runId, b, Math.Min(batchSize, total - b * batchSize), batchSize, users);
        return bodies;
    }

    private static async Task<(double[] Latencies, int Errors)> PostAllAsync(HttpClient client, byte[][] bodies, int concurrency, CancellationToken cancellationToken)
    {
        var next = -1;
        var errors = 0;
        var latencies = new double[bodies.Length];
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int b;
            while ((b = Interlocked.Increment(ref next)) < bodies.Length)
            {
                var started = Stopwatch.GetTimestamp();
                using var content = new ByteArrayContent(bodies[b]);
                content.Headers.ContentType = new("application/json");
                using var response = await client.PostAsync("/v1/events", content, cancellationToken);
                latencies[b] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (!response.IsSuccessStatusCode) Interlocked.Increment(ref errors);
            }
        }));
        return (latencies, errors);
    }

    internal static HttpClient CreateClient(string url, int connections, string? key)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = new Uri(url),
            Timeout = TimeSpan.FromMinutes(2),
        };
        if (!string.IsNullOrEmpty(key)) client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    /// <summary>A JSON batch of views, carts and purchases spread over users, unique ids per run.</summary>
    private static byte[] BuildBatch(string runId, int batchIndex, int count, int batchSize, int users)
    {
        string[] types = ["view", "view", "view", "click", "add_to_cart", "favorite", "purchase"];
        var start = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var json = new StringBuilder(count * 160).Append("{\"events\":[");
        for (var i = 0; i < count; i++)
        {
            var n = (long)batchIndex * batchSize + i;
            var user = (int)((n * 2654435761L) % users);
            var item = (int)((n * 40503L) % 20_000);
            var type = types[(int)(n % types.Length)];
            if (i > 0) json.Append(',');
            json.Append("{\"id\":\"bench-").Append(runId).Append('-').Append(n)
                .Append("\",\"user_id\":\"bench-u").Append(user)
                .Append("\",\"type\":\"").Append(type)
                .Append("\",\"item_id\":\"bench-i").Append(item)
                .Append("\",\"timestamp\":").Append(start + n * 1000 % (30L * 86_400_000))
                .Append(",\"device\":\"mobile\",\"channel\":\"app\"}");
        }
        return Encoding.UTF8.GetBytes(json.Append("]}").ToString());
    }

    /// <summary>The <paramref name="q"/> quantile of ascending samples (nearest rank); NaN when there are none.</summary>
    internal static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(q * sorted.Length))];

    /// <summary>
    /// <paramref name="concurrency"/> clients GET the path <paramref name="request"/> makes (from each client's own seeded
    /// Random) until <paramref name="duration"/> is up; returns every request's latency in ms and the non-2xx count.
    /// </summary>
    internal static async Task<(double[] Latencies, int Errors)> RunClientsAsync(
        HttpClient client, int concurrency, TimeSpan duration, Func<Random, string> request, int seed, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var errors = 0;
        var perWorker = Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var random = new Random(seed + worker);
            var samples = new List<double>();
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await client.GetAsync(request(random), HttpCompletionOption.ResponseContentRead, cancellationToken);
                samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!response.IsSuccessStatusCode) Interlocked.Increment(ref errors);
            }
            return samples;
        }).ToArray();
        return ((await Task.WhenAll(perWorker)).SelectMany(s => s).ToArray(), errors);
    }
}
