using System.Collections.Concurrent;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

public sealed class CrashTests
{
    [Fact]
    public async Task Server_KilledDuringConcurrentIngest_KeepsEveryAcknowledgedEvent()
    {
        var data = Path.Combine(Path.GetTempPath(), "persona-crash", Guid.NewGuid().ToString("n"));
        var acknowledged = new ConcurrentDictionary<string, byte>();
        var random = new Random(7);
        try
        {
            for (var round = 0; round < 5; round++)
            {
                await using var server = await ServerProcess.StartAsync(data);
                using var client = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = TimeSpan.FromSeconds(10) };
                using var stop = new CancellationTokenSource();
                var writers = Enumerable.Range(0, 4).Select(w => PostUntilKilledAsync(client, round, w, acknowledged, stop.Token)).ToArray();
                await Task.Delay(random.Next(300, 1200));
                await server.KillAsync();
                await stop.CancelAsync();
                await Task.WhenAll(writers);
            }

            await using (var server = await ServerProcess.StartAsync(data))
            {
                using var client = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
                Assert.True((await client.GetAsync("/health")).IsSuccessStatusCode);
            }

            await using var store = new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = data });
            await store.InitializeAsync();
            var found = await store.GetEventsAsync(acknowledged.Keys.ToList());
            Assert.False(acknowledged.IsEmpty, "No batch was acknowledged before the kills.");
            Assert.Equal(acknowledged.Count, found.Count);
            Assert.Equal(found.Count, found.Select(e => e.Id).Distinct().Count());
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task PostUntilKilledAsync(HttpClient client, int round, int writer, ConcurrentDictionary<string, byte> acknowledged, CancellationToken cancellationToken)
    {
        for (var batch = 0; !cancellationToken.IsCancellationRequested; batch++)
        {
            var ids = Enumerable.Range(0, 50).Select(i => $"crash-{round}-{writer}-{batch}-{i}").ToList();
            var body = "[" + string.Join(",", ids.Select((id, i) =>
                $"{{\"id\":\"{id}\",\"user_id\":\"crash-u{(writer * 7 + i) % 20}\",\"type\":\"view\",\"item_id\":\"i{i}\",\"timestamp\":\"2026-01-01T{i % 24:00}:{batch % 60:00}:00Z\"}}")) + "]";
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
