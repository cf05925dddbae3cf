extern alias cli;

using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using cli::Persona.Cli.Commands;
using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Hosting;
using Persona.Storage.Postgres.Testing;

namespace Persona.Server.Tests;

public sealed class CrashTests
{
    private const int Users = 20;

    /// <summary>
    /// Five rounds of: restart, read every profile, ingest from four writers, SIGKILL at a random moment. After each
    /// kill every acknowledged event is in the store exactly once; after each restart the served profiles equal
    /// profiles rebuilt from the stored events. On the embedded SQLite file and on PostgreSQL.
    /// </summary>
    [Theory]
    [InlineData(PersonaStoreOptions.Sqlite)]
    [InlineData(PersonaStoreOptions.Postgres)]
    public async Task Server_KilledDuringConcurrentIngest_KeepsEveryAcknowledgedEventAndProfilesEqualARebuild(string provider)
    {
        var data = Path.Combine(Path.GetTempPath(), "persona-crash", Guid.NewGuid().ToString("n"));
        var schema = TestPostgres.NewSchema();
        var options = new PersonaOptions { DataDirectory = data };
        IReadOnlyList<string> settings = ["--Persona:Security:Open=true"];
        if (provider == PersonaStoreOptions.Postgres)
        {
            options.Store = new PersonaStoreOptions { Provider = provider, ConnectionString = TestPostgres.ConnectionString, Schema = schema };
            settings = [.. settings, .. TestPostgres.ServerSettings(schema)];
        }
        var acknowledged = new ConcurrentDictionary<string, byte>();
        var random = new Random(7);
        Dictionary<string, string> rebuilt = [];
        try
        {
            for (var round = 0; round <= 5; round++)
            {
                await using var server = await ServerProcess.StartAsync(data, settings);
                using var client = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = TimeSpan.FromSeconds(10) };
                foreach (var (user, expected) in rebuilt)
                    Assert.Equal(expected, Comparable(await client.GetStringAsync($"/v1/users/{user}/profile")));
                if (round == 5) break;

                using var stop = new CancellationTokenSource();
                var writers = Enumerable.Range(0, 4).Select(w => PostUntilKilledAsync(client, round, w, acknowledged, stop.Token)).ToArray();
                await Task.Delay(random.Next(300, 1200));
                await server.KillAsync();
                await stop.CancelAsync();
                await Task.WhenAll(writers);

                await using var store = PersonaStores.Create(options);
                await store.InitializeAsync();
                var found = await store.GetEventsAsync(acknowledged.Keys.ToList());
                Assert.Equal(acknowledged.Count, found.Count);
                Assert.Equal(found.Count, found.Select(e => e.Id).Distinct().Count());
                rebuilt = await RebuildAsync(store);
            }
            Assert.False(acknowledged.IsEmpty, "No batch was acknowledged before the kills.");
            Assert.NotEmpty(rebuilt);
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
            if (provider == PersonaStoreOptions.Postgres) await TestPostgres.DropSchemaAsync(schema);
        }
    }

    /// <summary>Profiles of every user rebuilt from scratch from the stored events, as the server's data clock sees them.</summary>
    private static async Task<Dictionary<string, string>> RebuildAsync(IPersonaStore store)
    {
        var events = new List<StoredEvent>();
        await foreach (var e in store.ReadEventsAsync()) events.Add(e);
        var book = new ProfileBook(new ProfileOptions(), CatalogSnapshot.Create([]));
        book.Apply(events);
        var asOf = events.Max(e => e.Timestamp);
        return events.Select(e => e.UserId).Distinct().ToDictionary(u => u,
            u => Comparable(JsonSerializer.Serialize(book.Build(u, asOf), PersonaJson.Options)));
    }

    /// <summary>The profile without its bookkeeping and model outputs, as <c>persona bench failover</c> compares them.</summary>
    private static string Comparable(string profileJson) => FailoverBench.Comparable(profileJson);

    private static async Task PostUntilKilledAsync(HttpClient client, int round, int writer, ConcurrentDictionary<string, byte> acknowledged, CancellationToken cancellationToken)
    {
        for (var batch = 0; !cancellationToken.IsCancellationRequested; batch++)
        {
            var ids = Enumerable.Range(0, 50).Select(i => $"crash-{round}-{writer}-{batch}-{i}").ToList();
            var body = "[" + string.Join(",", ids.Select((id, i) =>
                $"{{\"id\":\"{id}\",\"user_id\":\"crash-u{(writer * 7 + i) % Users}\",\"type\":\"view\",\"item_id\":\"i{i}\",\"timestamp\":\"2026-01-01T{i % 24:00}:{batch % 60:00}:00Z\"}}")) + "]";
            try
            {
                using var response = await client.PostAsync("/v1/events", HttpJson.Body(body), CancellationToken.None);
                if (response.IsSuccessStatusCode)
                    foreach (var id in ids) acknowledged.TryAdd(id, 0);
            }
            catch (HttpRequestException) { return; }
            catch (TaskCanceledException) { return; }
        }
    }
}
