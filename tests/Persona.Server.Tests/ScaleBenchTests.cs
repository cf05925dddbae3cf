extern alias cli;

using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using cli::Persona.Cli.Commands;

namespace Persona.Server.Tests;

/// <summary><c>persona bench scale</c>: its arguments, and one whole run at a tiny size through the built executable.</summary>
public sealed class ScaleBenchTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "persona-scale-tests", Guid.NewGuid().ToString("n"));

    public ScaleBenchTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static readonly string[] ReportFields =
    [
        "users", "items", "categories", "events", "seed", "clients", "duration_s", "warmup_s", "generate_seconds", "csv_mib",
        "import_seconds", "import_events_per_s", "health_seconds", "ready_seconds", "background_at_ready", "settled_seconds", "background_while_measured",
        "stored_events", "stored_items", "stored_profiles",
        "rss_mib", "bytes_per_shopper", "rss_after_load_mib", "hot_profile_mib", "cold_loads", "evictions",
        "profile_requests", "profile_p50_ms", "profile_p99_ms", "profile_errors",
        "recommend_requests", "recommend_p50_ms", "recommend_p99_ms", "recommend_errors",
        "search_requests", "search_p50_ms", "search_p99_ms", "search_errors",
        "errors", "processor_count", "load_average_start", "load_average_end", "configuration",
    ];

    [Fact]
    public async Task BenchScale_TinyShop_PrintsOneJsonObjectWithEveryFigure_NoErrors_AndRemovesItsWork()
    {
        var work = Path.Combine(_root, "work");
        var report = Path.Combine(_root, "report.json");

        var (exit, output, error) = await RunProcessAsync(
            "bench", "scale", "--users", "200", "--items", "500", "--events", "5000", "--duration", "1s", "--clients", "4", "--warmup", "1s",
            "--seed", "5", "--data", work, "--output", report);

        Assert.True(exit == 0, $"exit {exit}\n{error}");
        using var json = JsonDocument.Parse(output); // standard output is the report and nothing else
        var root = json.RootElement;
        Assert.All(ReportFields, field => Assert.True(root.TryGetProperty(field, out _), $"no {field}"));
        Assert.Equal(200, root.GetProperty("users").GetInt32());
        Assert.Equal(500, root.GetProperty("items").GetInt32());
        Assert.Equal(5000, root.GetProperty("events").GetInt64());
        Assert.Equal(5, root.GetProperty("seed").GetInt32());
        Assert.Equal(0, root.GetProperty("errors").GetInt32());
        // Every generated line is a distinct event, and every shopper got a profile.
        Assert.Equal(5000, root.GetProperty("stored_events").GetInt64());
        Assert.Equal(200, root.GetProperty("stored_profiles").GetInt64());
        foreach (var field in new[] { "import_events_per_s", "import_seconds", "health_seconds", "ready_seconds", "rss_mib", "bytes_per_shopper",
                     "profile_p50_ms", "profile_p99_ms", "recommend_p50_ms", "recommend_p99_ms", "search_p50_ms", "search_p99_ms" })
            Assert.True(root.GetProperty(field).GetDouble() > 0, $"{field} = {root.GetProperty(field)}");
        foreach (var kind in new[] { "profile", "recommend", "search" })
        {
            Assert.True(root.GetProperty($"{kind}_requests").GetInt32() > 0, $"no {kind} requests");
            Assert.True(root.GetProperty($"{kind}_p50_ms").GetDouble() <= root.GetProperty($"{kind}_p99_ms").GetDouble());
        }
        Assert.True(root.GetProperty("ready_seconds").GetDouble() >= root.GetProperty("health_seconds").GetDouble());
        // The first start after an import trains; the timed runs wait for that to end.
        Assert.True(root.GetProperty("settled_seconds").GetDouble() >= root.GetProperty("ready_seconds").GetDouble());
        Assert.Equal(0, root.GetProperty("background_while_measured").GetArrayLength());
        // 200 small shoppers fit the default budget: all hot, none dropped.
        Assert.InRange(root.GetProperty("hot_profile_mib").GetDouble(), 0.1, 50);
        Assert.Equal(0, root.GetProperty("evictions").GetInt64());
        Assert.Equal(root.GetProperty("rss_mib").GetDouble() * 1048576 / 200, root.GetProperty("bytes_per_shopper").GetDouble(), 400.0); // rss_mib is rounded to 0.1 MiB
        Assert.Equal(Environment.ProcessorCount, root.GetProperty("processor_count").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("data").ValueKind);
        Assert.Equal(output.Trim(), (await File.ReadAllTextAsync(report)).Trim());
        Assert.False(Directory.Exists(work), "the work folder was left behind");
        Assert.Contains("Importing", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchScale_Keep_LeavesTheLogTheStoreAndTheServersOutput()
    {
        var work = Path.Combine(_root, "kept");
        var (exit, _, error) = await RunProcessAsync(
            "bench", "scale", "--users", "50", "--items", "100", "--events", "1000", "--duration", "1s", "--clients", "2", "--warmup", "0s",
            "--data", work, "--keep");

        Assert.True(exit == 0, $"exit {exit}\n{error}");
        Assert.True(File.Exists(Path.Combine(work, "store", "persona.db")), "no store");
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(work, "taobao")));
        // The server's whole output, for reading its phases afterwards.
        Assert.Contains("127.0.0.1", await File.ReadAllTextAsync(Path.Combine(work, "serve.log")), StringComparison.Ordinal);
        Assert.Contains("serve.log", error, StringComparison.Ordinal);

        // A second run serves and loads the kept store without generating or importing anything.
        var (again, report, againError) = await RunProcessAsync(
            "bench", "scale", "--users", "50", "--items", "100", "--events", "1000", "--duration", "1s", "--clients", "2", "--warmup", "0s",
            "--data", work, "--reuse");
        Assert.True(again == 0, $"exit {again}\n{againError}");
        using var json = System.Text.Json.JsonDocument.Parse(report);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.RootElement.GetProperty("import_seconds").ValueKind);
        Assert.True(json.RootElement.GetProperty("ready_seconds").GetDouble() > 0);
        Assert.DoesNotContain("Importing", againError, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(work, "store", "persona.db")), "the reused store was removed");
    }

    [Fact]
    public async Task BenchScale_ReuseWithoutAStore_ExitsTwoNamingReuse()
    {
        var (exit, _, error) = await RunInProcessAsync(["bench", "scale", "--reuse"]);
        Assert.Equal(2, exit);
        Assert.Contains("--reuse needs --data", error, StringComparison.Ordinal);

        var empty = Directory.CreateDirectory(Path.Combine(_root, "nothing-kept")).FullName;
        (exit, _, error) = await RunInProcessAsync(["bench", "scale", "--data", empty, "--reuse"]);
        Assert.Equal(2, exit);
        Assert.Contains("holds no store", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchScale_SigtermDuringTheLoad_StopsTheServerAndRemovesItsWork()
    {
        if (!OperatingSystem.IsLinux()) return;
        var work = Path.Combine(_root, "stopped");
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = _root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { typeof(cli::Persona.Cli.PersonaCli).Assembly.Location, "bench", "scale", "--users", "100", "--items", "300", "--events", "2000",
                     "--duration", "60s", "--clients", "2", "--warmup", "0s", "--data", work })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = new System.Text.StringBuilder();
        var loading = new TaskCompletionSource();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (error) error.AppendLine(e.Data);
            if (e.Data?.Contains("uniformly random shoppers", StringComparison.Ordinal) == true) loading.TrySetResult();
        };
        process.BeginErrorReadLine();
        var output = process.StandardOutput.ReadToEndAsync();
        try
        {
            await loading.Task.WaitAsync(TimeSpan.FromMinutes(1));
            Assert.NotEmpty(ProcessesMentioning(Path.Combine(work, "store"))); // the server, on the work folder's store

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }

        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}\n{error}");
        Assert.Equal("", await output);
        Assert.Empty(ProcessesMentioning(Path.Combine(work, "store")));
        Assert.False(Directory.Exists(work), "the work folder was left behind");
    }

    /// <summary>Ids of processes whose command line contains <paramref name="text"/>.</summary>
    private static List<int> ProcessesMentioning(string text)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Contains(text, StringComparison.Ordinal)) found.Add(pid);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
        return found;
    }

    [Theory]
    [InlineData("--users", "0", "--users must be between")]
    [InlineData("--users", "many", "--users: 'many' is not a whole number")]
    [InlineData("--items", "-3", "--items must be between")]
    [InlineData("--events", "10", "--events (10) must be at least --users")]
    [InlineData("--events", "2000000000", "--events (2,000,000,000) must be at most 1,000")]
    [InlineData("--clients", "0", "--clients must be between 1 and 4,096")]
    [InlineData("--duration", "soon", "--duration: 'soon' is not a duration")]
    [InlineData("--duration", "0s", "--duration must be more than 0")]
    [InlineData("--warmup", "-1s", "--warmup must be at least 0")]
    [InlineData("--seed", "1.5", "--seed: '1.5' is not a whole number")]
    public async Task BenchScale_BadArgument_ExitsTwoNamingTheOption(string option, string value, string message)
    {
        var (exit, _, error) = await RunInProcessAsync(["bench", "scale", option, value]);

        Assert.Equal(2, exit);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchScale_DataFolderNotEmpty_ExitsTwoNamingDataAndLeavesItAlone()
    {
        var data = Directory.CreateDirectory(Path.Combine(_root, "mine")).FullName;
        var precious = Path.Combine(data, "notes.txt");
        await File.WriteAllTextAsync(precious, "keep me");

        var (exit, output, error) = await RunInProcessAsync(["bench", "scale", "--users", "10", "--items", "10", "--events", "10", "--data", data]);

        Assert.Equal(2, exit);
        Assert.Contains("--data", error, StringComparison.Ordinal);
        Assert.Contains("not empty", error, StringComparison.Ordinal);
        Assert.Equal("", output);
        Assert.Equal("keep me", await File.ReadAllTextAsync(precious));
    }

    [Theory]
    [InlineData("1000000", 1_000_000)]
    [InlineData("50_000_000", 50_000_000)]
    [InlineData("3,000,000", 3_000_000)]
    [InlineData("50M", 50_000_000)]
    [InlineData("30k", 30_000)]
    public void TryParseCount_SeparatorsAndSuffixes(string text, long expected)
    {
        Assert.True(ScaleBenchSettings.TryParseCount(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("20s", 20_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("7", 7_000)]
    public void TryParseDuration_Units(string text, double milliseconds)
    {
        Assert.True(ScaleBenchSettings.TryParseDuration(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds, 6);
    }

    [Fact]
    public void Parse_Defaults_AreTheIssuesBench()
    {
        var (settings, errors) = ScaleBenchSettings.Parse("10000", "50000", "1000000", "1", "20s", "5s", "64");

        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.Equal(new ScaleBenchSettings(), settings);
    }

    private static async Task<(int Exit, string Output, string Error)> RunInProcessAsync(string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await cli::Persona.Cli.PersonaCli.BuildRootCommand().Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>The built <c>persona</c> as its own process: standard output must hold only the report.</summary>
    private async Task<(int Exit, string Output, string Error)> RunProcessAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = _root, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(typeof(cli::Persona.Cli.PersonaCli).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await output, await error);
    }
}
