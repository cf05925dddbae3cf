extern alias cli;

using System.Diagnostics;
using System.Text.Json;
using Persona.Storage.Postgres.Testing;

namespace Persona.Cluster.Tests;

/// <summary>
/// Three silo processes against real PostgreSQL, RabbitMQ and Redis, through <c>persona bench failover</c>: events go in
/// over HTTP to every node in turn and through the queue while nodes are SIGKILLed.
/// </summary>
public sealed class ClusterFailoverTests
{
    [Fact]
    public async Task ThreeNodes_KilledUnderHttpAndQueueIngest_LoseAndDuplicateNothing_ShoppersAnswerWithin5s_ProfilesEqualARebuild()
    {
        var report = Path.Combine(Path.GetTempPath(), $"persona-failover-{Guid.NewGuid():n}.json");
        try
        {
            var (exit, output, error) = await RunPersonaAsync(
                "bench", "failover", "--nodes", "3", "--seconds", "20", "--kills", "2", "--users", "60", "--writers", "4", "--batch", "20",
                "--rabbitmq", TestCluster.RabbitMq, "--redis", TestCluster.Redis, "--seed", "3", "--output", report,
                "--store", "postgres", "--store-connection", TestPostgres.ConnectionString);
            Assert.True(exit == 0, $"exit {exit}\n{error}\n{output}");
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report));
            var root = json.RootElement;
            // Both ways in were used, and every acknowledged event is stored once.
            Assert.True(root.GetProperty("acknowledged_http").GetInt64() > 0, output);
            Assert.True(root.GetProperty("acknowledged_queue").GetInt64() > 0, output);
            Assert.Equal(root.GetProperty("acknowledged").GetInt64(), root.GetProperty("stored").GetInt64());
            Assert.Equal(0, root.GetProperty("lost").GetInt64());
            Assert.Equal(0, root.GetProperty("duplicated").GetInt64());
            // After each kill every shopper, the killed node's included, answered from the survivors within 5 s.
            Assert.Equal(2, root.GetProperty("read_gaps_ms").GetArrayLength());
            Assert.InRange(root.GetProperty("max_read_gap_ms").GetDouble(), 0, 5000);
            Assert.Equal(2, root.GetProperty("all_answered_ms").GetArrayLength());
            // Every profile the cluster serves equals one rebuilt on a single node from the stored events.
            Assert.Equal(60, root.GetProperty("profiles_checked").GetInt32());
            Assert.Equal(0, root.GetProperty("profiles_differing").GetInt32());
            Assert.All(root.GetProperty("node_rss_mib").EnumerateArray(), rss => Assert.True(rss.GetDouble() > 0));
        }
        finally
        {
            File.Delete(report);
        }
    }

    [Fact]
    public async Task BenchFailover_OnTheEmbeddedStore_ExitsTwoNamingTheStore()
    {
        var (exit, _, error) = await RunPersonaAsync("bench", "failover", "--seconds", "5", "--kills", "0");
        Assert.Equal(2, exit);
        Assert.Contains("--store postgres", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServeCluster_OnTheEmbeddedStore_ExitsTwoNamingTheSetting()
    {
        var data = Directory.CreateTempSubdirectory("persona-cluster-sqlite").FullName;
        try
        {
            var (exit, _, error) = await RunPersonaAsync("serve", "--cluster", "--data", data, "--urls", "http://127.0.0.1:0");
            Assert.Equal(2, exit);
            Assert.Contains("Persona:Store:Provider=postgres", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    internal static async Task<(int Exit, string Output, string Error)> RunPersonaAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(typeof(cli::Persona.Cli.PersonaCli).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        // The store comes from the arguments only.
        foreach (var name in new[] { "Persona__Store__Provider", "Persona__Store__ConnectionString", "Persona__Store__Schema" }) start.Environment.Remove(name);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
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
