using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Hosting;
using Persona.Messaging.RabbitMq;
using RabbitMQ.Client;

namespace Persona.Cli.Commands;

public sealed record FailoverBenchSettings
{
    public int Nodes { get; init; } = 3;
    public int Seconds { get; init; } = 60;
    public int Kills { get; init; } = 10;
    public int Users { get; init; } = 300;
    public int Writers { get; init; } = 4;
    public int Batch { get; init; } = 50;
    public string? RabbitMq { get; init; }
    public string Redis { get; init; } = "127.0.0.1:6379";
    public string? Output { get; init; }
    public int Seed { get; init; } = 1;
}

/// <summary>What <c>persona bench failover</c> prints and writes.</summary>
public sealed record FailoverReport
{
    public required int Nodes { get; init; }
    public required int Seconds { get; init; }
    public required int Kills { get; init; }
    public required int Users { get; init; }
    /// <summary>Events acknowledged: HTTP 200, or a confirmed RabbitMQ message.</summary>
    public required long Acknowledged { get; init; }
    public required long AcknowledgedHttp { get; init; }
    public required long AcknowledgedQueue { get; init; }
    /// <summary>Acknowledged events found in the store afterwards.</summary>
    public required long Stored { get; init; }
    public required long Lost { get; init; }
    /// <summary>Stored events whose id is stored more than once (extra copies).</summary>
    public required long Duplicated { get; init; }
    /// <summary>Requests that failed on a node (killed, or failing over) and were sent again to another.</summary>
    public required long Retried { get; init; }
    /// <summary>
    /// Per kill: the longest a read of a shopper (any shopper with an event acknowledged over HTTP, the killed node's among
    /// them) waited, from its first attempt after the kill until a survivor answered it 200, sent again as needed.
    /// </summary>
    public required IReadOnlyList<double> ReadGapsMs { get; init; }
    public required double MaxReadGapMs { get; init; }
    /// <summary>Per kill: from the kill until every one of those shoppers had answered (32 readers at a time).</summary>
    public required IReadOnlyList<double> AllAnsweredMs { get; init; }
    public required double EventsPerSecond { get; init; }
    public required int ProfilesChecked { get; init; }
    /// <summary>Profiles served by the cluster that differ from a single-node rebuild of the stored events.</summary>
    public required int ProfilesDiffering { get; init; }
    public string? FirstDifference { get; init; }
    /// <summary>Each node's resident memory at the end (MiB).</summary>
    public required IReadOnlyList<double> NodeRssMib { get; init; }
    public required int ProcessorCount { get; init; }
    public required double[]? LoadAverageStart { get; init; }
    public required double[]? LoadAverageEnd { get; init; }
}

/// <summary>
/// <c>persona bench failover</c>: starts a cluster of <c>persona serve --cluster</c> nodes on a fresh schema of the
/// PostgreSQL store, ingests through every node (and RabbitMQ), SIGKILLs nodes in turn, and checks that every
/// acknowledged event is stored once, that every shopper answers from the survivors, and that every profile equals a
/// single-node rebuild (docs/cluster.md).
/// </summary>
public static class FailoverBench
{
    private static readonly JsonSerializerOptions ReportJson = new(PersonaJson.Options) { WriteIndented = true };

    public static Command Create()
    {
        var nodes = new Option<int>("--nodes") { Description = "Nodes in the cluster.", DefaultValueFactory = _ => 3 };
        var seconds = new Option<int>("--seconds") { Description = "How long to ingest while nodes are killed.", DefaultValueFactory = _ => 60 };
        var kills = new Option<int>("--kills") { Description = "Nodes SIGKILLed, one at a time, spread over the run; each is restarted after the survivors answered.", DefaultValueFactory = _ => 10 };
        var users = new Option<int>("--users") { Description = "Shoppers the events are spread over.", DefaultValueFactory = _ => 300 };
        var writers = new Option<int>("--writers") { Description = "Concurrent HTTP writers, each sending to the nodes in turn.", DefaultValueFactory = _ => 4 };
        var batch = new Option<int>("--batch") { Description = "Events per request or message.", DefaultValueFactory = _ => 50 };
        var rabbitMq = new Option<string?>("--rabbitmq") { Description = "Also publish batches to this broker (amqp://…); every node consumes the run's queue." };
        var redis = new Option<string>("--redis") { Description = "The Redis that holds the cluster's membership.", DefaultValueFactory = _ => "127.0.0.1:6379" };
        var output = new Option<string?>("--output") { Description = "Also write the JSON report to this file." };
        var seed = new Option<int>("--seed") { Description = "Seeds the events and the order of kills.", DefaultValueFactory = _ => 1 };
        var command = new Command("failover",
            "Start a cluster of nodes on a fresh schema of the PostgreSQL store (--store postgres --store-connection …), ingest through every node " +
            "(and RabbitMQ), SIGKILL nodes in turn, and report acknowledged, stored, lost and duplicated events, the longest wait for a shopper to " +
            "answer after a kill, profiles against a single-node rebuild, and each node's memory, as one JSON object.")
        {
            nodes, seconds, kills, users, writers, batch, rabbitMq, redis, output, seed,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new FailoverBenchSettings
            {
                Nodes = parse.GetValue(nodes),
                Seconds = parse.GetValue(seconds),
                Kills = parse.GetValue(kills),
                Users = parse.GetValue(users),
                Writers = parse.GetValue(writers),
                Batch = parse.GetValue(batch),
                RabbitMq = parse.GetValue(rabbitMq),
                Redis = parse.GetValue(redis)!,
                Output = parse.GetValue(output),
                Seed = parse.GetValue(seed),
            };
            return await RunAsync(settings, Console.Out, Console.Error, cancellationToken);
        });
        return command;
    }

    public static IReadOnlyList<string> Validate(FailoverBenchSettings settings, PersonaStoreOptions store)
    {
        var errors = new List<string>();
        if (settings.Nodes is < 2 or > 16) errors.Add("--nodes must be between 2 and 16.");
        if (settings.Seconds is < 5 or > 24 * 3600) errors.Add("--seconds must be between 5 and 86400.");
        if (settings.Kills < 0) errors.Add("--kills must not be negative.");
        if (settings.Users is < 1 or > 1_000_000) errors.Add("--users must be between 1 and 1,000,000.");
        if (settings.Writers is < 1 or > 256) errors.Add("--writers must be between 1 and 256.");
        if (settings.Batch is < 1 or > 1000) errors.Add("--batch must be between 1 and 1000.");
        if (store.Provider != PersonaStoreOptions.Postgres || string.IsNullOrEmpty(store.ConnectionString))
            errors.Add("bench failover runs its nodes on a shared PostgreSQL store: add --store postgres --store-connection 'Host=…;Username=…;Password=…;Database=…' (a fresh schema is made and dropped).");
        return errors;
    }

    public static async Task<int> RunAsync(FailoverBenchSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var store = StoreChoice.Current();
        var problems = Validate(settings, store);
        if (problems.Count > 0)
        {
            foreach (var problem in problems) await error.WriteLineAsync(problem);
            return 2;
        }
        var run = $"{settings.Seed:x}{Random.Shared.Next():x8}";
        var schema = $"failover_{run}";
        var queue = $"persona.failover.{run}";
        var work = Path.Combine(Path.GetTempPath(), $"persona-failover-{run}");
        Directory.CreateDirectory(work);
        var shared = new PersonaStoreOptions { Provider = PersonaStoreOptions.Postgres, ConnectionString = store.ConnectionString, Schema = schema };
        var cluster = new NodeSet(settings, shared, run, queue, work, error);
        try
        {
            var report = await RunClusterAsync(settings, shared, queue, cluster, error, cancellationToken);
            var json = JsonSerializer.Serialize(report, ReportJson);
            await output.WriteLineAsync(json);
            if (settings.Output is { } file) await File.WriteAllTextAsync(file, json + "\n", cancellationToken);
            return report.Lost == 0 && report.Duplicated == 0 && report.ProfilesDiffering == 0 ? 0 : 1;
        }
        catch (ClusterFailedException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return 1;
        }
        finally
        {
            cluster.Dispose();
            await DropSchemaAsync(store.ConnectionString!, schema);
            if (settings.RabbitMq is { } uri) await DeleteQueuesAsync(uri, queue);
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static async Task<FailoverReport> RunClusterAsync(
        FailoverBenchSettings settings, PersonaStoreOptions shared, string queue, NodeSet cluster, TextWriter error, CancellationToken cancellationToken)
    {
        var loadStart = ScaleBench.LoadAverage();
        await error.WriteLineAsync($"failover: starting {settings.Nodes} nodes (schema {shared.Schema})");
        await cluster.StartAllAsync(cancellationToken);

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = TimeSpan.FromSeconds(15) };
        var acknowledged = new ConcurrentDictionary<string, string>(StringComparer.Ordinal); // id → user
        // Shoppers with an event acknowledged over HTTP: stored and applied when acknowledged, so they must answer at once.
        // (A confirmed message is the broker's until a node consumes it.)
        var served = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        long ackedHttp = 0, ackedQueue = 0, retried = 0;
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var batches = new BatchMaker(settings, clock);
        var writers = Enumerable.Range(0, settings.Writers).Select(w => Task.Run(async () =>
        {
            for (var attempt = w; !stop.IsCancellationRequested;)
            {
                var (ids, users, body) = batches.Next();
                while (!stop.IsCancellationRequested)
                {
                    var node = cluster.Alive(attempt++);
                    try
                    {
                        using var content = new StringContent(body, Encoding.UTF8, "application/json");
                        using var response = await http.PostAsync($"{node.Url}/v1/events", content, CancellationToken.None);
                        if (response.IsSuccessStatusCode)
                        {
                            for (var i = 0; i < ids.Length; i++)
                            {
                                acknowledged[ids[i]] = users[i];
                                served.TryAdd(users[i], 0);
                            }
                            Interlocked.Add(ref ackedHttp, ids.Length);
                            break;
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { }
                    // The node is down or failing over: the same batch (same ids) goes to another.
                    Interlocked.Increment(ref retried);
                    await Task.Delay(20, CancellationToken.None);
                }
            }
        }, CancellationToken.None)).ToList();
        if (settings.RabbitMq is { } uri)
            writers.Add(Task.Run(() => PublishUntilStoppedAsync(uri, queue, batches, acknowledged, n => Interlocked.Add(ref ackedQueue, n), stop.Token), CancellationToken.None));

        var gaps = new List<double>();
        var sweeps = new List<double>();
        var random = new Random(settings.Seed);
        var interval = TimeSpan.FromSeconds(settings.Seconds / (double)(settings.Kills + 1));
        for (var k = 0; k < settings.Kills; k++)
        {
            var at = interval * (k + 1);
            if (clock.Elapsed < at) await Task.Delay(at - clock.Elapsed, cancellationToken);
            var victim = cluster.Nodes[random.Next(cluster.Nodes.Count)];
            var known = served.Keys.ToList();
            victim.Kill();
            var killed = Stopwatch.StartNew();
            var (gap, all) = await ReadEveryShopperAsync(http, cluster, known, killed, cancellationToken);
            gaps.Add(Math.Round(gap, 1));
            sweeps.Add(Math.Round(all, 1));
            await error.WriteLineAsync($"failover: kill {k + 1}/{settings.Kills} (node {victim.Index}): {known.Count} shoppers read from the survivors, the longest wait {gap:0} ms, all answered {all:0} ms after the kill");
            await victim.StartAsync(cancellationToken);
            await cluster.WaitUntilJoinedAsync(cancellationToken);
        }
        if (clock.Elapsed < TimeSpan.FromSeconds(settings.Seconds)) await Task.Delay(TimeSpan.FromSeconds(settings.Seconds) - clock.Elapsed, cancellationToken);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        var ingestSeconds = clock.Elapsed.TotalSeconds;

        await using var persona = PersonaStores.Create(new PersonaOptions { Store = shared });
        await persona.InitializeAsync(cancellationToken);
        // Confirmed messages a killed node had taken are delivered again; wait for the queue's to land.
        var ids = acknowledged.Keys.ToList();
        var found = await WaitForStoredAsync(persona, ids, TimeSpan.FromSeconds(60), cancellationToken);
        var events = new List<StoredEvent>();
        await foreach (var e in persona.ReadEventsAsync(0, cancellationToken)) events.Add(e);
        var duplicated = events.Count - events.Select(e => e.Id).Distinct(StringComparer.Ordinal).Count();

        await cluster.WaitUntilFollowedAsync(events.Count == 0 ? 0 : events.Max(e => e.Sequence), cancellationToken);
        var (checkedCount, differing, first) = await CompareProfilesAsync(http, cluster, events, cancellationToken);
        return new FailoverReport
        {
            Nodes = settings.Nodes,
            Seconds = settings.Seconds,
            Kills = settings.Kills,
            Users = settings.Users,
            Acknowledged = acknowledged.Count,
            AcknowledgedHttp = ackedHttp,
            AcknowledgedQueue = ackedQueue,
            Stored = found,
            Lost = acknowledged.Count - found,
            Duplicated = duplicated,
            Retried = retried,
            ReadGapsMs = gaps,
            MaxReadGapMs = gaps.Count == 0 ? 0 : gaps.Max(),
            AllAnsweredMs = sweeps,
            EventsPerSecond = Math.Round(acknowledged.Count / ingestSeconds, 1),
            ProfilesChecked = checkedCount,
            ProfilesDiffering = differing,
            FirstDifference = first,
            NodeRssMib = [.. cluster.Nodes.Select(n => Math.Round((n.ResidentBytes() ?? 0) / 1048576.0, 1))],
            ProcessorCount = Environment.ProcessorCount,
            LoadAverageStart = loadStart,
            LoadAverageEnd = ScaleBench.LoadAverage(),
        };
    }

    /// <summary>
    /// Reads every shopper from the live nodes until each has answered 200: the longest one read waited (first attempt to
    /// answer), and the milliseconds from the kill until the last answered.
    /// </summary>
    private static async Task<(double LongestWait, double AllAnswered)> ReadEveryShopperAsync(
        HttpClient http, NodeSet cluster, IReadOnlyList<string> shoppers, Stopwatch sinceKill, CancellationToken cancellationToken)
    {
        var limit = TimeSpan.FromSeconds(60);
        var answered = new double[shoppers.Count];
        var waited = new double[shoppers.Count];
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(shoppers.Select(async (user, i) =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                var first = sinceKill.Elapsed.TotalMilliseconds;
                for (var attempt = i; ; attempt++)
                {
                    if (sinceKill.Elapsed > limit) throw new ClusterFailedException($"The shopper {user} did not answer from any survivor within {limit.TotalSeconds:0} s of a kill.");
                    try
                    {
                        using var response = await http.GetAsync($"{cluster.Alive(attempt).Url}/v1/users/{Uri.EscapeDataString(user)}/profile", cancellationToken);
                        if (response.StatusCode == HttpStatusCode.OK) break;
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested) { }
                    await Task.Delay(20, cancellationToken);
                }
                answered[i] = sinceKill.Elapsed.TotalMilliseconds;
                waited[i] = answered[i] - first;
            }
            finally
            {
                gate.Release();
            }
        }));
        return answered.Length == 0 ? (0, sinceKill.Elapsed.TotalMilliseconds) : (waited.Max(), answered.Max());
    }

    private static async Task PublishUntilStoppedAsync(
        string uri, string queue, BatchMaker batches, ConcurrentDictionary<string, string> acknowledged, Action<int> counted, CancellationToken stop)
    {
        var options = new RabbitMqIngestOptions { Uri = uri, Queue = queue, DeadLetterQueue = queue + ".dead" };
        await using var connection = await new ConnectionFactory { Uri = new Uri(uri), ClientProvidedName = "persona bench failover" }.CreateConnectionAsync(CancellationToken.None);
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true), CancellationToken.None);
        await RabbitMqTopology.DeclareAsync(channel, options, CancellationToken.None);
        var properties = new BasicProperties { Persistent = true, ContentType = "application/json" };
        for (var published = 0L; !stop.IsCancellationRequested; published++)
        {
            // A steady stream, not a flood: while the nodes have a backlog to work off, wait.
            if (published % 20 == 0)
                while (!stop.IsCancellationRequested && (await channel.QueueDeclarePassiveAsync(queue, CancellationToken.None)).MessageCount > 200)
                    await Task.Delay(50, CancellationToken.None);
            var (ids, users, body) = batches.Next();
            // Returns once the broker has confirmed the message: from then on it is the cluster's to store.
            await channel.BasicPublishAsync("", queue, mandatory: true, properties, Encoding.UTF8.GetBytes(body), CancellationToken.None);
            for (var i = 0; i < ids.Length; i++) acknowledged[ids[i]] = users[i];
            counted(ids.Length);
            await Task.Delay(10, CancellationToken.None);
        }
    }

    private static async Task<long> WaitForStoredAsync(IPersonaStore store, List<string> ids, TimeSpan patience, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            long found = 0;
            foreach (var chunk in ids.Chunk(5000)) found += (await store.GetEventsAsync(chunk, cancellationToken)).Count;
            if (found >= ids.Count || DateTime.UtcNow > deadline) return found;
            await Task.Delay(500, cancellationToken);
        }
    }

    /// <summary>Every shopper's profile from the cluster (nodes in turn) against one rebuilt on a single node from the stored events.</summary>
    private static async Task<(int Checked, int Differing, string? First)> CompareProfilesAsync(
        HttpClient http, NodeSet cluster, List<StoredEvent> events, CancellationToken cancellationToken)
    {
        var book = new ProfileBook(new ProfileOptions(), CatalogSnapshot.Create([]));
        book.Apply(events);
        var users = events.Select(e => e.UserId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var differing = 0;
        string? first = null;
        for (var i = 0; i < users.Count; i++)
        {
            var expected = Comparable(JsonSerializer.Serialize(book.Build(users[i]), PersonaJson.Options));
            var actual = Comparable(await http.GetStringAsync($"{cluster.Alive(i).Url}/v1/users/{Uri.EscapeDataString(users[i])}/profile", cancellationToken));
            if (expected == actual) continue;
            differing++;
            first ??= $"{users[i]}: cluster {actual} / rebuild {expected}";
        }
        return (users.Count, differing, first);
    }

    /// <summary>
    /// A profile without its bookkeeping (version, write time), model outputs and summary (written from the tags, which
    /// are compared), which a rebuild does not make.
    /// </summary>
    public static string Comparable(string profileJson)
    {
        var node = JsonNode.Parse(profileJson)!.AsObject();
        foreach (var field in new[] { "version", "updated_at", "predictions", "segment", "embedding", "embedding_model_version", "summary" }) node.Remove(field);
        return node.ToJsonString();
    }

    private static async Task DropSchemaAsync(string connectionString, string schema)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE;", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException) { }
    }

    private static async Task DeleteQueuesAsync(string uri, string queue)
    {
        try
        {
            await using var connection = await new ConnectionFactory { Uri = new Uri(uri) }.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            await channel.QueueDeleteAsync(queue);
            await channel.QueueDeleteAsync(queue + ".dead");
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.BrokerUnreachableException or RabbitMQ.Client.Exceptions.OperationInterruptedException or IOException) { }
    }

    /// <summary>Synthetic batches with unique ids, spread over the shoppers, timestamps moving with the run.</summary>
    private sealed class BatchMaker(FailoverBenchSettings settings, Stopwatch clock)
    {
        private static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        private readonly Lock _lock = new();
        private readonly Random _random = new(settings.Seed);
        private long _next;

        public (string[] Ids, string[] Users, string Body) Next()
        {
            lock (_lock)
            {
                var ids = new string[settings.Batch];
                var users = new string[settings.Batch];
                var body = new StringBuilder("[");
                for (var i = 0; i < settings.Batch; i++)
                {
                    var n = _next++;
                    ids[i] = $"fo-{settings.Seed}-{n}";
                    users[i] = $"fo-u{_random.Next(settings.Users)}";
                    var roll = _random.Next(100);
                    var type = roll < 80 ? "view" : roll < 95 ? "add_to_cart" : "purchase";
                    var at = Start + clock.Elapsed;
                    if (i > 0) body.Append(',');
                    body.Append($"{{\"id\":\"{ids[i]}\",\"user_id\":\"{users[i]}\",\"type\":\"{type}\",\"item_id\":\"i{_random.Next(200)}\",\"timestamp\":\"{at:O}\"");
                    if (type == "purchase") body.Append(",\"price\":19.9");
                    body.Append('}');
                }
                return (ids, users, body.Append(']').ToString());
            }
        }
    }

    private sealed class ClusterFailedException(string message) : Exception(message);

    /// <summary>The cluster's node processes, each on its own HTTP and silo port.</summary>
    private sealed class NodeSet(FailoverBenchSettings settings, PersonaStoreOptions store, string run, string queue, string work, TextWriter error) : IDisposable
    {
        public List<Node> Nodes { get; } = [.. Enumerable.Range(0, settings.Nodes).Select(i => new Node(i, settings, store, run, queue, Path.Combine(work, $"node{i}")))];

        /// <summary>The <paramref name="turn"/>-th of the nodes now running (every node, when none is).</summary>
        public Node Alive(int turn)
        {
            var alive = Nodes.Where(n => n.Running).ToList();
            if (alive.Count == 0) alive = Nodes;
            return alive[(int)((uint)turn % (uint)alive.Count)];
        }

        public async Task StartAllAsync(CancellationToken cancellationToken)
        {
            foreach (var node in Nodes) await node.StartAsync(cancellationToken);
            await WaitUntilJoinedAsync(cancellationToken);
        }

        /// <summary>Until every running node sees all of them active.</summary>
        public async Task WaitUntilJoinedAsync(CancellationToken cancellationToken)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (true)
            {
                var running = Nodes.Where(n => n.Running).ToList();
                var views = await Task.WhenAll(running.Select(n => n.ActiveAsync(cancellationToken)));
                if (views.All(v => v == running.Count)) return;
                if (DateTime.UtcNow > deadline)
                    throw new ClusterFailedException($"The nodes did not all see each other within 2 minutes (active counts {string.Join(", ", views)}). Last lines of node 0:\n{Nodes[0].Tail()}");
                await Task.Delay(200, cancellationToken);
            }
        }

        /// <summary>Until every node's item-side state has followed the log through <paramref name="sequence"/>.</summary>
        public async Task WaitUntilFollowedAsync(long sequence, CancellationToken cancellationToken)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                var followed = await Task.WhenAll(Nodes.Select(n => n.FollowedAsync(cancellationToken)));
                if (followed.All(f => f >= sequence)) return;
                await Task.Delay(100, cancellationToken);
            }
            await error.WriteLineAsync($"failover: not every node had followed the log to {sequence} within 60 s");
        }

        public void Dispose()
        {
            foreach (var node in Nodes) node.Dispose();
        }
    }

    private sealed class Node(int index, FailoverBenchSettings settings, PersonaStoreOptions store, string run, string queue, string data) : IDisposable
    {
        private static readonly HttpClient Health = new() { Timeout = TimeSpan.FromSeconds(5) };
        private readonly int _siloPort = FreePort();
        private readonly Queue<string> _tail = new();
        private Process? _process;

        public int Index => index;

        public string Url { get; } = $"http://127.0.0.1:{FreePort()}";

        public bool Running => _process is { HasExited: false };

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var start = PersonaExecutable.Start();
            start.Environment["Persona__Store__Provider"] = store.Provider;
            start.Environment["Persona__Store__ConnectionString"] = store.ConnectionString;
            start.Environment["Persona__Store__Schema"] = store.Schema;
            string[] arguments =
            [
                "serve", "--data", data, "--urls", Url, "--open", "--cluster",
                "--Persona:Security:RequestsPerSecond=0",
                $"--Persona:Cluster:SiloPort={_siloPort}", $"--Persona:Cluster:ClusterId=failover-{run}", $"--Persona:Cluster:Redis={settings.Redis}",
                .. settings.RabbitMq is { } uri
                    ? new[] { $"--Persona:RabbitMq:Uri={uri}", $"--Persona:RabbitMq:Queue={queue}", $"--Persona:RabbitMq:DeadLetterQueue={queue}.dead" }
                    : [],
            ];
            foreach (var argument in arguments) start.ArgumentList.Add(argument);
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            start.UseShellExecute = false;
            var process = Process.Start(start) ?? throw new ClusterFailedException($"Could not start {start.FileName}.");
            process.OutputDataReceived += (_, e) => Keep(e.Data);
            process.ErrorDataReceived += (_, e) => Keep(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (true)
            {
                if (process.HasExited) throw new ClusterFailedException($"Node {index} exited with code {process.ExitCode} while starting. Its last lines:\n{Tail()}");
                if (DateTime.UtcNow > deadline) throw new ClusterFailedException($"Node {index} was not healthy within 2 minutes. Its last lines:\n{Tail()}");
                try
                {
                    using var response = await Health.GetAsync($"{Url}/health", cancellationToken);
                    if (response.IsSuccessStatusCode) return;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested) { }
                await Task.Delay(100, cancellationToken);
            }
        }

        public async Task<int> ActiveAsync(CancellationToken cancellationToken) =>
            await ClusterFieldAsync(cluster => cluster.GetProperty("active").GetArrayLength(), cancellationToken) ?? -1;

        public async Task<long> FollowedAsync(CancellationToken cancellationToken) =>
            await ClusterFieldAsync(cluster => cluster.GetProperty("followed_through").GetInt64(), cancellationToken) ?? -1;

        private async Task<T?> ClusterFieldAsync<T>(Func<JsonElement, T> read, CancellationToken cancellationToken) where T : struct
        {
            try
            {
                using var document = JsonDocument.Parse(await Health.GetStringAsync($"{Url}/health", cancellationToken));
                return read(document.RootElement.GetProperty("cluster"));
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException && !cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        }

        /// <summary>SIGKILL: no shutdown, no flush, no goodbye to the membership.</summary>
        public void Kill()
        {
            if (_process is not { HasExited: false } process) return;
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }

        public long? ResidentBytes() => _process is { HasExited: false } process ? ServerMemory.ResidentBytes(process.Id) : null;

        private void Keep(string? line)
        {
            if (line is null) return;
            lock (_tail)
            {
                _tail.Enqueue(line);
                if (_tail.Count > 40) _tail.Dequeue();
            }
        }

        public string Tail()
        {
            lock (_tail) return string.Join('\n', _tail);
        }

        public void Dispose()
        {
            Kill();
            _process?.Dispose();
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
