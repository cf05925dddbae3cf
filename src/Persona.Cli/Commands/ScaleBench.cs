using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Persona.Core.Demo;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary>What <c>bench scale</c> runs, parsed and checked.</summary>
public sealed record ScaleBenchSettings
{
    public const int MaxClients = 4096;

    public int Users { get; init; } = 10_000;
    public int Items { get; init; } = 50_000;
    public long Events { get; init; } = 1_000_000;
    public int Seed { get; init; } = 1;
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// The longest wait after ready for the server's background work (training the search encoder and the models,
    /// warming caches) to end before the warm-up; zero measures at once, beside that work.
    /// </summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromMinutes(30);
    public int Clients { get; init; } = 64;
    public string? Output { get; init; }
    public string? Data { get; init; }
    public bool Keep { get; init; }
    /// <summary>Serve and load the store an earlier run kept in <see cref="Data"/>: no generation, no import.</summary>
    public bool Reuse { get; init; }

    /// <summary>The generator's sizes.</summary>
    public TaobaoShapeOptions Shop => new() { Users = Users, Items = Items, Events = Events, Seed = Seed };

    /// <summary>
    /// Parses the options' text (counts may carry <c>_</c> or <c>,</c> separators and a <c>k</c>/<c>M</c> suffix;
    /// durations are <c>20s</c>, <c>500ms</c>, <c>2m</c> or seconds). Each problem names its option.
    /// </summary>
    public static (ScaleBenchSettings? Settings, IReadOnlyList<string> Errors) Parse(
        string users, string items, string events, string seed, string duration, string warmup, string clients,
        string? output = null, string? data = null, bool keep = false, bool reuse = false, string settle = "30m")
    {
        var errors = new List<string>();
        long Count(string option, string text, long min, long max)
        {
            if (!TryParseCount(text, out var value)) errors.Add($"{option}: '{text}' is not a whole number.");
            else if (value < min || value > max) errors.Add($"{option} must be between {min:N0} and {max:N0}.");
            else return value;
            return min;
        }
        TimeSpan Time(string option, string text, bool zeroAllowed)
        {
            if (!TryParseDuration(text, out var value)) errors.Add($"{option}: '{text}' is not a duration such as 20s, 500ms or 2m.");
            else if (value < TimeSpan.Zero || (value == TimeSpan.Zero && !zeroAllowed) || value > TimeSpan.FromHours(1))
                errors.Add($"{option} must be {(zeroAllowed ? "at least 0" : "more than 0")} and at most 1 hour.");
            else return value;
            return TimeSpan.Zero;
        }

        var settings = new ScaleBenchSettings
        {
            Users = (int)Count("--users", users, 1, 100_000_000),
            Items = (int)Count("--items", items, 1, 100_000_000),
            Events = Count("--events", events, 1, 10_000_000_000),
            Seed = (int)Count("--seed", seed, int.MinValue, int.MaxValue),
            Duration = Time("--duration", duration, zeroAllowed: false),
            Warmup = Time("--warmup", warmup, zeroAllowed: true),
            Settle = Time("--settle", settle, zeroAllowed: true),
            Clients = (int)Count("--clients", clients, 1, MaxClients),
            Output = string.IsNullOrWhiteSpace(output) ? null : output,
            Data = string.IsNullOrWhiteSpace(data) ? null : data,
            Keep = keep || reuse,
            Reuse = reuse,
        };
        if (reuse && settings.Data is null) errors.Add("--reuse needs --data: the folder an earlier run kept with --keep.");
        if (errors.Count == 0)
        {
            if (settings.Events < settings.Users)
                errors.Add($"--events ({settings.Events:N0}) must be at least --users ({settings.Users:N0}): every shopper has at least one event, so a random shopper always exists.");
            else if (settings.Events > (long)settings.Users * TaobaoShapeOptions.MaxEventsPerUser)
                errors.Add($"--events ({settings.Events:N0}) must be at most {TaobaoShapeOptions.MaxEventsPerUser:N0} × --users ({settings.Users:N0}); Taobao's log averages about 100 a shopper.");
        }
        return errors.Count == 0 ? (settings, errors) : (null, errors);
    }

    /// <summary>A whole number: digits with optional <c>_</c>/<c>,</c> separators, a sign, and a <c>k</c> or <c>M</c> suffix.</summary>
    public static bool TryParseCount(string? text, out long value)
    {
        value = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim().Replace("_", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal);
        long scale = 1;
        if (s.EndsWith('k') || s.EndsWith('K')) (scale, s) = (1_000, s[..^1]);
        else if (s.EndsWith('M')) (scale, s) = (1_000_000, s[..^1]);
        if (!long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)) return false;
        try { value = checked(n * scale); }
        catch (OverflowException) { return false; }
        return true;
    }

    /// <summary><c>20s</c>, <c>1.5s</c>, <c>500ms</c>, <c>2m</c>, <c>1h</c>, or a bare number of seconds.</summary>
    public static bool TryParseDuration(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim();
        var (unit, number) = s.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (0.001, s[..^2])
            : s.EndsWith('s') || s.EndsWith('S') ? (1.0, s[..^1])
            : s.EndsWith('m') || s.EndsWith('M') ? (60.0, s[..^1])
            : s.EndsWith('h') || s.EndsWith('H') ? (3600.0, s[..^1])
            : (1.0, s);
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            || !double.IsFinite(n) || Math.Abs(n * unit) > TimeSpan.MaxValue.TotalSeconds / 2) return false;
        value = TimeSpan.FromSeconds(n * unit);
        return true;
    }
}

/// <summary>The one JSON object <c>bench scale</c> prints (snake_case names).</summary>
public sealed record ScaleBenchReport
{
    public required int Users { get; init; }
    public required int Items { get; init; }
    public required int Categories { get; init; }
    public required long Events { get; init; }
    public required int Seed { get; init; }
    public required int Clients { get; init; }
    public required double DurationS { get; init; }
    public required double WarmupS { get; init; }
    /// <summary>Null with <c>--reuse</c> (nothing generated or imported), as are the three below.</summary>
    public required double? GenerateSeconds { get; init; }
    public required double? CsvMib { get; init; }
    public required double? ImportSeconds { get; init; }
    public required double? ImportEventsPerS { get; init; }
    /// <summary>Until <c>/health</c> first answered 200.</summary>
    public required double HealthSeconds { get; init; }
    /// <summary>Until profile, recommendations and search for a shopper also answered 2xx.</summary>
    public required double ReadySeconds { get; init; }
    /// <summary>The background work <c>/health</c> listed when the server was ready (a first start after an import trains).</summary>
    public required IReadOnlyList<string> BackgroundAtReady { get; init; }
    /// <summary>Until <c>/health</c> listed no background work; null when the bench did not wait (<c>--settle 0</c>) or gave up.</summary>
    public required double? SettledSeconds { get; init; }
    /// <summary>The background work still running when the timed runs began: empty when they measured a settled server.</summary>
    public required IReadOnlyList<string> BackgroundWhileMeasured { get; init; }
    public required long? StoredEvents { get; init; }
    public required long? StoredItems { get; init; }
    /// <summary>User records (attributes, consent); the Taobao log has none.</summary>
    public required long? StoredUsers { get; init; }
    public required long? StoredProfiles { get; init; }
    /// <summary>The server's resident memory after the warm-up.</summary>
    public required double RssMib { get; init; }
    public required double BytesPerShopper { get; init; }
    /// <summary>The server's resident memory after the three timed runs.</summary>
    public required double RssAfterLoadMib { get; init; }
    /// <summary>Shoppers' profile states held in memory after the timed runs (estimated; <c>GET /v1/admin/state</c>).</summary>
    public double? HotProfileMib { get; init; }
    /// <summary>Cold shoppers read back from the store since the server started, and hot ones dropped.</summary>
    public long? ColdLoads { get; init; }
    public long? Evictions { get; init; }
    public required int ProfileRequests { get; init; }
    public required double ProfileP50Ms { get; init; }
    public required double ProfileP99Ms { get; init; }
    public required int ProfileErrors { get; init; }
    public required int RecommendRequests { get; init; }
    public required double RecommendP50Ms { get; init; }
    public required double RecommendP99Ms { get; init; }
    public required int RecommendErrors { get; init; }
    public required int SearchRequests { get; init; }
    public required double SearchP50Ms { get; init; }
    public required double SearchP99Ms { get; init; }
    public required int SearchErrors { get; init; }
    /// <summary>Non-2xx answers and failed requests of the three timed runs.</summary>
    public required int Errors { get; init; }
    public required string SearchQueries { get; init; }
    public required int ProcessorCount { get; init; }
    public required double[]? LoadAverageStart { get; init; }
    public required double[]? LoadAverageEnd { get; init; }
    public required long? MemoryTotalMib { get; init; }
    public required string Os { get; init; }
    public required string Runtime { get; init; }
    /// <summary>The build configuration of the <c>persona</c> that ran (Release for figures worth quoting).</summary>
    public required string Configuration { get; init; }
    /// <summary>The kept work folder (with --keep), else null.</summary>
    public required string? Data { get; init; }
}

/// <summary>
/// <c>bench scale</c>: generates a shop in Taobao UserBehavior's shape, imports it with <c>persona import</c>'s own
/// code, starts <c>persona serve</c> on it as a separate process, and measures time to ready, resident memory and
/// p50/p99 of profile, recommendations and personalised search for uniformly random shoppers. One JSON object on
/// standard output; progress on standard error.
/// </summary>
public static class ScaleBench
{
    private const string CsvFolder = "taobao";
    private const string StoreFolder = "store";
    /// <summary>Everything the server under test wrote, kept beside the store with <c>--keep</c>.</summary>
    private const string ServeLog = "serve.log";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromHours(2);

    private static readonly JsonSerializerOptions ReportJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static Command Create()
    {
        var defaults = new ScaleBenchSettings();
        Option<string> Text(string name, string description, string value) => new(name) { Description = description, DefaultValueFactory = _ => value };
        var users = Text("--users", "Shoppers (ids 1..N), each with at least one event.", defaults.Users.ToString(CultureInfo.InvariantCulture));
        var items = Text("--items", "Catalog items (ids 1..I), grouped in categories of about 440.", defaults.Items.ToString(CultureInfo.InvariantCulture));
        var events = Text("--events", "Lines of the generated log (e.g. 1000000, 1M, 50_000_000).", defaults.Events.ToString(CultureInfo.InvariantCulture));
        var seed = Text("--seed", "Seed of the generated shop: the same seed gives the same log.", defaults.Seed.ToString(CultureInfo.InvariantCulture));
        var duration = Text("--duration", "How long the clients load each endpoint (20s, 500ms, 2m).", "20s");
        var warmup = Text("--warmup", "Untimed load on all three endpoints before resident memory is read.", "5s");
        var settle = Text("--settle", "Longest wait after ready for the server's background work (training, warming caches) to end before measuring; 0 measures beside it.", "30m");
        var clients = Text("--clients", "Concurrent clients.", defaults.Clients.ToString(CultureInfo.InvariantCulture));
        var output = new Option<string?>("--output") { Description = "Also write the JSON report to this file." };
        var data = new Option<string?>("--data") { Description = "Work folder for the log and the store (new or empty; default a temporary folder). Removed at the end unless --keep." };
        var keep = new Option<bool>("--keep") { Description = "Keep the work folder (the CSV log and the imported store)." };
        var reuse = new Option<bool>("--reuse") { Description = "Skip generation and import: serve and load the store an earlier run kept in --data (same --users, --items, --events, --seed). Implies --keep." };
        var command = new Command("scale",
            "Generate a Taobao-shaped shop, bulk-import it, start `persona serve` on it and measure time to ready, resident memory and p50/p99 of profile, recommendations and search for random shoppers; prints one JSON object.")
        {
            users, items, events, seed, duration, warmup, settle, clients, output, data, keep, reuse,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var (settings, problems) = ScaleBenchSettings.Parse(parse.GetValue(users)!, parse.GetValue(items)!, parse.GetValue(events)!, parse.GetValue(seed)!,
                parse.GetValue(duration)!, parse.GetValue(warmup)!, parse.GetValue(clients)!, parse.GetValue(output), parse.GetValue(data), parse.GetValue(keep), parse.GetValue(reuse),
                parse.GetValue(settle)!);
            foreach (var problem in problems) await error.WriteLineAsync(problem);
            if (settings is null) return 2;
            return await RunAsync(settings, parse.InvocationConfiguration.Output, error, cancellationToken);
        });
        return command;
    }

    /// <summary>Runs the whole bench; the report goes to <paramref name="output"/>, progress and problems to <paramref name="error"/>.</summary>
    public static async Task<int> RunAsync(ScaleBenchSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var work = settings.Data is { } given ? Path.GetFullPath(given) : Path.Combine(Path.GetTempPath(), "persona-scale-" + Guid.NewGuid().ToString("n")[..12]);
        if (settings.Reuse && !Directory.Exists(Path.Combine(work, StoreFolder)))
        {
            await error.WriteLineAsync($"--reuse: {work} holds no store ({StoreFolder}/); give the folder of a run made with --keep.");
            return 2;
        }
        if (!settings.Reuse && (File.Exists(work) || (Directory.Exists(work) && Directory.EnumerateFileSystemEntries(work).Any())))
        {
            await error.WriteLineAsync($"--data: {work} is {(File.Exists(work) ? "a file" : "not empty")}; give a new or empty folder (the bench imports into a fresh store and removes what it wrote).");
            return 2;
        }
        var createdWork = !Directory.Exists(work);
        Directory.CreateDirectory(work);

        // Progress (ours and the import's, which draws on the shared console) goes to standard error: standard output
        // carries only the report.
        // Ctrl+C or SIGTERM stops the run here and lets the finally below stop the server and remove the work folder;
        // without these the process ended at once and left both behind.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        cancellationToken = stop.Token;

        var previousConsole = AnsiConsole.Console;
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
        ServerUnderTest? server = null;
        void KillOnExit(object? sender, EventArgs e) => server?.Kill();
        AppDomain.CurrentDomain.ProcessExit += KillOnExit;
        try
        {
            var loadStart = LoadAverage();
            var generator = new TaobaoShapeGenerator(settings.Shop);
            var store = Path.Combine(work, StoreFolder);
            double? generateSeconds = null, csvMib = null, importSeconds = null;
            if (!settings.Reuse)
            {
                (generateSeconds, csvMib, importSeconds) = await GenerateAndImportAsync(settings, generator, work, store, error, cancellationToken);
                if (importSeconds is null) return 1;
            }
            else AnsiConsole.MarkupLineInterpolated($"Reusing the store in {store} (no generation, no import).");

            AnsiConsole.MarkupLine("Starting `persona serve` on the imported store…");
            server = ServerUnderTest.Start(store, Path.Combine(work, ServeLog));
            using var client = BenchCommand.CreateClient(server.Url, settings.Clients, key: null);
            var paths = new RequestPaths(settings.Users, generator);
            var (healthSeconds, readySeconds, stats) = await server.WaitUntilReadyAsync(paths.Probes(), ReadyTimeout, cancellationToken);
            AnsiConsole.MarkupLineInterpolated($"Answering /health after {healthSeconds:0.0} s, ready for profile, recommendations and search after {readySeconds:0.0} s (pid {server.Pid}).");
            var backgroundAtReady = await server.BackgroundAsync(cancellationToken) ?? [];
            double? settledSeconds = null;
            if (settings.Settle > TimeSpan.Zero)
            {
                if (backgroundAtReady.Count > 0)
                    AnsiConsole.MarkupLineInterpolated($"Waiting up to {settings.Settle.TotalMinutes:0.#} min for the server's background work to end ({string.Join(", ", backgroundAtReady)})…");
                settledSeconds = await server.WaitUntilSettledAsync(settings.Settle, cancellationToken);
                AnsiConsole.MarkupLine(settledSeconds is { } settled
                    ? $"Settled (no background work) after {settled:0.0} s."
                    : "Still not settled; measuring beside the background work.");
            }

            if (settings.Warmup > TimeSpan.Zero)
            {
                AnsiConsole.MarkupLineInterpolated($"Warm-up: {settings.Warmup.TotalSeconds:0.#} s of all three endpoints with {settings.Clients} clients (not measured)…");
                await LoadAsync(client, settings.Clients, settings.Warmup, paths.Mixed, seed: 1_000_000, cancellationToken);
            }
            var rss = server.ResidentBytes();
            var backgroundWhileMeasured = await server.BackgroundAsync(cancellationToken) ?? [];

            var phases = new Dictionary<string, PhaseResult>();
            foreach (var (name, path) in new (string, Func<Random, string>)[] { ("profile", paths.Profile), ("recommend", paths.Recommend), ("search", paths.Search) })
            {
                AnsiConsole.MarkupLineInterpolated($"{name}: {settings.Clients} clients for {settings.Duration.TotalSeconds:0.#} s, uniformly random shoppers…");
                var phase = await LoadAsync(client, settings.Clients, settings.Duration, path, seed: phases.Count * 100_000, cancellationToken);
                phases[name] = phase;
                AnsiConsole.MarkupLineInterpolated($"{name}: {phase.Requests:N0} requests, p50 {phase.P50Ms:0.00} ms, p99 {phase.P99Ms:0.00} ms, errors {phase.Errors}");
                foreach (var sample in phase.ErrorSamples) await error.WriteLineAsync($"  {name} error: {sample}");
            }
            var rssAfter = server.ResidentBytes();
            var memory = await ReadStateMemoryAsync(client, cancellationToken);
            server.Kill();

            var report = new ScaleBenchReport
            {
                Users = settings.Users,
                Items = settings.Items,
                Categories = settings.Shop.Categories,
                Events = settings.Events,
                Seed = settings.Seed,
                Clients = settings.Clients,
                DurationS = settings.Duration.TotalSeconds,
                WarmupS = settings.Warmup.TotalSeconds,
                GenerateSeconds = generateSeconds is { } generated ? Round(generated, 2) : null,
                CsvMib = csvMib is { } mib ? Round(mib, 1) : null,
                ImportSeconds = importSeconds is { } imported ? Round(imported, 2) : null,
                ImportEventsPerS = importSeconds is { } took ? Math.Round(settings.Events / took) : null,
                HealthSeconds = Round(healthSeconds, 2),
                ReadySeconds = Round(readySeconds, 2),
                BackgroundAtReady = backgroundAtReady,
                SettledSeconds = settledSeconds is { } s ? Round(s, 2) : null,
                BackgroundWhileMeasured = backgroundWhileMeasured,
                StoredEvents = stats?.Events,
                StoredItems = stats?.Items,
                StoredUsers = stats?.Users,
                StoredProfiles = stats?.Profiles,
                RssMib = Round(rss / 1048576.0, 1),
                BytesPerShopper = Math.Round(rss / (double)settings.Users),
                RssAfterLoadMib = Round(rssAfter / 1048576.0, 1),
                HotProfileMib = memory?.HotBytes is { } hot ? Round(hot / 1048576.0, 1) : null,
                ColdLoads = memory?.Loads,
                Evictions = memory?.Evictions,
                ProfileRequests = phases["profile"].Requests,
                ProfileP50Ms = Round(phases["profile"].P50Ms, 2),
                ProfileP99Ms = Round(phases["profile"].P99Ms, 2),
                ProfileErrors = phases["profile"].Errors,
                RecommendRequests = phases["recommend"].Requests,
                RecommendP50Ms = Round(phases["recommend"].P50Ms, 2),
                RecommendP99Ms = Round(phases["recommend"].P99Ms, 2),
                RecommendErrors = phases["recommend"].Errors,
                SearchRequests = phases["search"].Requests,
                SearchP50Ms = Round(phases["search"].P50Ms, 2),
                SearchP99Ms = Round(phases["search"].P99Ms, 2),
                SearchErrors = phases["search"].Errors,
                Errors = phases.Values.Sum(p => p.Errors),
                SearchQueries = RequestPaths.QueryDescription,
                ProcessorCount = Environment.ProcessorCount,
                LoadAverageStart = loadStart,
                LoadAverageEnd = LoadAverage(),
                MemoryTotalMib = MemoryTotalMib(),
                Os = RuntimeInformation.OSDescription,
                Runtime = RuntimeInformation.FrameworkDescription,
                Configuration = typeof(ScaleBench).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "unknown",
                Data = settings.Keep ? work : null,
            };
            var json = JsonSerializer.Serialize(report, ReportJson);
            await output.WriteLineAsync(json);
            if (settings.Output is { } file) await File.WriteAllTextAsync(file, json + "\n", cancellationToken);
            return report.Errors == 0 ? 0 : 1;
        }
        catch (ServerFailedException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("Stopped.");
            return 130;
        }
        finally
        {
            server?.Dispose();
            AppDomain.CurrentDomain.ProcessExit -= KillOnExit;
            AnsiConsole.Console = previousConsole;
            if (settings.Keep) await error.WriteLineAsync($"Kept the log, the store and the server's output ({ServeLog}) in {work}.");
            else RemoveWork(work, createdWork);
        }
    }

    /// <summary>Writes the shop's log and imports it; the import's seconds are null when it failed.</summary>
    private static async Task<(double? GenerateSeconds, double? CsvMib, double? ImportSeconds)> GenerateAndImportAsync(
        ScaleBenchSettings settings, TaobaoShapeGenerator generator, string work, string store, TextWriter error, CancellationToken cancellationToken)
    {
        var csvFolder = Directory.CreateDirectory(Path.Combine(work, CsvFolder)).FullName;
        var csv = Path.Combine(csvFolder, "user_behavior.csv");
        var clock = Stopwatch.StartNew();
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape($"Generating {settings.Events:N0} events for {settings.Users:N0} shoppers"), maxValue: settings.Events);
                await Task.Run(() => generator.WriteFile(csv, new InlineProgress<long>(done => task.Value = done), cancellationToken), cancellationToken);
            });
        var generateSeconds = clock.Elapsed.TotalSeconds;
        var csvMib = new FileInfo(csv).Length / 1048576.0;

        AnsiConsole.MarkupLineInterpolated($"Importing {csv} ({csvMib:N0} MiB) with `persona import --dataset {ImportCommand.TaobaoUserBehavior}`…");
        clock.Restart();
        var imported = await ImportAsync(store, csvFolder, error, cancellationToken);
        var importSeconds = clock.Elapsed.TotalSeconds;
        if (imported != 0)
        {
            await error.WriteLineAsync($"The import failed (exit {imported}); see above.");
            return (generateSeconds, csvMib, null);
        }
        return (generateSeconds, csvMib, importSeconds);
    }

    /// <summary>
    /// <c>persona import --data STORE --dataset taobao-userbehavior --path CSV</c> as its own process, its output passed
    /// to <paramref name="error"/> (standard output carries only the report), so the bench times exactly what a shop's
    /// engineer runs, and the import's memory is given back before the server under test starts beside this process
    /// (at a million shoppers it is many gigabytes).
    /// </summary>
    private static async Task<int> ImportAsync(string store, string csvFolder, TextWriter error, CancellationToken cancellationToken)
    {
        var start = PersonaExecutable.Start();
        foreach (var argument in new[] { "import", "--data", store, "--dataset", ImportCommand.TaobaoUserBehavior, "--path", csvFolder })
            start.ArgumentList.Add(argument);
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start);
        if (process is null)
        {
            await error.WriteLineAsync($"Could not start {start.FileName}.");
            return 1;
        }
        var outputLock = new Lock();
        void Pass(string? line)
        {
            if (line is null) return;
            lock (outputLock) error.WriteLine(line);
        }
        process.OutputDataReceived += (_, e) => Pass(e.Data);
        process.ErrorDataReceived += (_, e) => Pass(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return process.ExitCode;
    }

    private static void RemoveWork(string work, bool createdWork)
    {
        try
        {
            if (createdWork) Directory.Delete(work, recursive: true);
            else
            {
                foreach (var folder in new[] { CsvFolder, StoreFolder })
                    if (Directory.Exists(Path.Combine(work, folder))) Directory.Delete(Path.Combine(work, folder), recursive: true);
                File.Delete(Path.Combine(work, ServeLog));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"Could not remove {work}: {ex.Message}");
        }
    }

    private static double Round(double value, int digits) => double.IsFinite(value) ? Math.Round(value, digits) : value;

    /// <summary>The three figures of <c>/proc/loadavg</c>; null where there is none.</summary>
    internal static double[]? LoadAverage()
    {
        try
        {
            return [.. File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(s => double.Parse(s, CultureInfo.InvariantCulture))];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static long? MemoryTotalMib()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line[9..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Latencies (ms) and failures of one timed run.</summary>
    private sealed record PhaseResult(int Requests, double P50Ms, double P99Ms, int Errors, IReadOnlyList<string> ErrorSamples);

    /// <summary>The server's shopper-state memory (<c>GET /v1/admin/state</c>); null when it cannot be read.</summary>
    private static async Task<(long? HotBytes, long? Loads, long? Evictions)?> ReadStateMemoryAsync(HttpClient client, CancellationToken cancellationToken)
    {
        try
        {
            using var document = JsonDocument.Parse(await client.GetStringAsync("/v1/admin/state", cancellationToken));
            if (!document.RootElement.TryGetProperty("memory", out var memory)) return null;
            long? Value(string name) => memory.TryGetProperty(name, out var v) && v.TryGetInt64(out var n) ? n : null;
            return (Value("hot_bytes"), Value("loads"), Value("evictions"));
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// <paramref name="clients"/> clients GET the paths <paramref name="path"/> draws until <paramref name="duration"/>
    /// is up. A non-2xx answer, a refused connection or a timeout is an error (its latency counts too).
    /// </summary>
    private static async Task<PhaseResult> LoadAsync(
        HttpClient client, int clients, TimeSpan duration, Func<Random, string> path, int seed, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var errors = 0;
        var samples = new List<string>();
        var workers = Enumerable.Range(0, clients).Select(async worker =>
        {
            var random = new Random(seed + worker);
            var latencies = new List<double>();
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var started = Stopwatch.GetTimestamp();
                var request = path(random);
                string? failure = null;
                try
                {
                    using var response = await client.GetAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
                    if (!response.IsSuccessStatusCode) failure = $"{(int)response.StatusCode} for {request}";
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    failure = $"{ex.GetType().Name} for {request}: {ex.Message}";
                }
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (failure is not null)
                {
                    Interlocked.Increment(ref errors);
                    lock (samples)
                        if (samples.Count < 5) samples.Add(failure);
                }
            }
            return latencies;
        }).ToArray();
        var all = (await Task.WhenAll(workers)).SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new PhaseResult(all.Length, BenchCommand.Percentile(all, 0.50), BenchCommand.Percentile(all, 0.99), errors, samples);
    }

    /// <summary>Request paths for uniformly random shoppers 1..N; searches are for a category drawn as shoppers browse.</summary>
    private sealed class RequestPaths(int users, TaobaoShapeGenerator shop)
    {
        /// <summary>
        /// The Taobao import names categories <c>cat-&lt;id&gt;</c> (and titles <c>Taobao item &lt;id&gt;</c>), so a
        /// category's name is what a shopper of this catalog can search for.
        /// </summary>
        public const string QueryDescription = "cat-C, C a category drawn by item popularity; n=20; personalised for the shopper";

        private int Shopper(Random random) => random.Next(1, users + 1);

        public string Profile(Random random) => $"/v1/users/{Shopper(random)}/profile";

        public string Recommend(Random random) => $"/v1/users/{Shopper(random)}/recommendations?n=10";

        public string Search(Random random) =>
            $"/v1/search?q={Uri.EscapeDataString("cat-" + shop.PopularCategory(random).ToString(CultureInfo.InvariantCulture))}&n=20&user={Shopper(random)}";

        public string Mixed(Random random) => random.Next(3) switch
        {
            0 => Profile(random),
            1 => Recommend(random),
            _ => Search(random),
        };

        /// <summary>One request of each kind, for the readiness check.</summary>
        public IReadOnlyList<string> Probes()
        {
            var random = new Random(7);
            return [Profile(random), Recommend(random), Search(random)];
        }
    }

    private sealed class ServerFailedException(string message) : Exception(message);

    /// <summary>Store counts as <c>/health</c> reports them.</summary>
    private sealed record HealthStats(long? Events, long? Items, long? Users, long? Profiles);

    /// <summary><c>persona serve</c> as a child process on a free loopback port; its output is kept for failure messages.</summary>
    private sealed class ServerUnderTest : IDisposable
    {
        private readonly Process _process;
        private readonly Queue<string> _tail = new();
        private readonly StreamWriter _log;
        // Set under the tail's lock when the log is closed: output that arrives later is dropped.
        private bool _logClosed;
        private readonly long _started;
        // One client for every poll while the server starts and settles (one a second for up to half an hour).
        private readonly HttpClient _client;

        private ServerUnderTest(Process process, string url, long started, StreamWriter log)
        {
            _process = process;
            Url = url;
            _started = started;
            _log = log;
            _client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        }

        public string Url { get; }

        public int Pid => _process.Id;

        /// <param name="store">The store folder to serve.</param>
        /// <param name="logPath">Where the server's whole output goes (its phases and timings, for reading afterwards).</param>
        public static ServerUnderTest Start(string store, string logPath)
        {
            var url = $"http://127.0.0.1:{FreePort()}";
            var start = PersonaExecutable.Start();
            // Open and unthrottled: every client comes from one address, so the per-client limit (5,000 requests a second by
            // default) would answer 429 to most of the load and the bench would measure the limiter.
            foreach (var argument in new[] { "serve", "--data", store, "--urls", url, "--open", "--Persona:Security:RequestsPerSecond=0" })
                start.ArgumentList.Add(argument);
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            start.RedirectStandardInput = true;
            start.UseShellExecute = false;
            var started = Stopwatch.GetTimestamp();
            var process = Process.Start(start) ?? throw new ServerFailedException($"Could not start {start.FileName}.");
            var server = new ServerUnderTest(process, url, started, new StreamWriter(logPath, append: false) { AutoFlush = true });
            process.OutputDataReceived += (_, e) => server.Keep(e.Data);
            process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return server;
        }

        private void Keep(string? line)
        {
            if (line is null) return;
            lock (_tail)
            {
                if (!_logClosed) _log.WriteLine(line);
                _tail.Enqueue(line);
                if (_tail.Count > 40) _tail.Dequeue();
            }
        }

        private string Tail()
        {
            lock (_tail) return string.Join('\n', _tail);
        }

        private double Seconds => Stopwatch.GetElapsedTime(_started).TotalSeconds;

        /// <summary>
        /// Seconds from the process's start until <c>/health</c> answered 200, and until each of
        /// <paramref name="probes"/> answered 2xx too (a 503 or a refused connection means not yet; another 4xx/5xx fails).
        /// </summary>
        public async Task<(double Health, double Ready, HealthStats? Stats)> WaitUntilReadyAsync(
            IReadOnlyList<string> probes, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var client = _client;
            double? health = null;
            HealthStats? stats = null;
            var pending = new List<string>(probes);
            while (true)
            {
                if (_process.HasExited)
                    throw new ServerFailedException($"`persona serve` exited with code {_process.ExitCode} before it was ready. Its last lines:\n{Tail()}");
                if (Seconds > timeout.TotalSeconds)
                    throw new ServerFailedException($"`persona serve` was not ready after {timeout.TotalMinutes:0} minutes. Its last lines:\n{Tail()}");
                try
                {
                    if (health is null)
                    {
                        using var response = await client.GetAsync("/health", cancellationToken);
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            health = Seconds;
                            stats = ReadStats(await response.Content.ReadAsStringAsync(cancellationToken));
                        }
                    }
                    while (health is not null && pending.Count > 0)
                    {
                        using var response = await client.GetAsync(pending[0], cancellationToken);
                        if (response.IsSuccessStatusCode) pending.RemoveAt(0);
                        else if (response.StatusCode == HttpStatusCode.ServiceUnavailable) break;
                        else
                            throw new ServerFailedException(
                                $"`persona serve` answers /health but {(int)response.StatusCode} for {pending[0]}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
                    }
                    if (health is { } h && pending.Count == 0) return (h, Seconds, stats);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    // Not listening yet, or too busy loading to answer in time.
                }
                await Task.Delay(100, cancellationToken);
            }
        }

        /// <summary>The background work <c>/health</c> lists now; null when it did not answer.</summary>
        public async Task<IReadOnlyList<string>?> BackgroundAsync(CancellationToken cancellationToken)
        {
            try
            {
                using var response = await _client.GetAsync("/health", cancellationToken);
                if (!response.IsSuccessStatusCode) return null;
                using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                if (!document.RootElement.TryGetProperty("background", out var list) || list.ValueKind != JsonValueKind.Array) return [];
                return list.EnumerateArray().Select(e => e.GetString() ?? "").ToArray();
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        }

        /// <summary>Seconds from the process's start until <c>/health</c> listed no background work; null after <paramref name="limit"/>.</summary>
        public async Task<double?> WaitUntilSettledAsync(TimeSpan limit, CancellationToken cancellationToken)
        {
            var until = Seconds + limit.TotalSeconds;
            while (Seconds < until)
            {
                if (_process.HasExited)
                    throw new ServerFailedException($"`persona serve` exited with code {_process.ExitCode} while it settled. Its last lines:\n{Tail()}");
                if (await BackgroundAsync(cancellationToken) is { Count: 0 }) return Seconds;
                await Task.Delay(1000, cancellationToken);
            }
            return null;
        }

        private static HealthStats? ReadStats(string json)
        {
            try
            {
                using var document = JsonDocument.Parse(json);
                if (!document.RootElement.TryGetProperty("stats", out var s)) return null;
                long? Count(string name) => s.TryGetProperty(name, out var v) && v.TryGetInt64(out var n) ? n : null;
                return new HealthStats(Count("events"), Count("items"), Count("users"), Count("profiles"));
            }
            catch (JsonException)
            {
                return null;
            }
        }

        /// <summary>VmRSS of the server (it is the process started: the dotnet host runs the app in itself).</summary>
        public long ResidentBytes()
        {
            if (ServerMemory.ResidentBytes(_process.Id) is { } bytes) return bytes;
            _process.Refresh();
            return _process.WorkingSet64;
        }

        public void Kill()
        {
            try
            {
                if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }

        public void Dispose()
        {
            Kill();
            _process.WaitForExit(10_000);
            _process.Dispose();
            _client.Dispose();
            lock (_tail)
            {
                _logClosed = true;
                _log.Dispose();
            }
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
