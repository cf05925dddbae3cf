using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Persona.Server.Tests;
using Persona.Storage.Postgres.Testing;

namespace Persona.Cluster.Tests;

/// <summary>
/// Two nodes of one cluster: what one node is told (items, consent, an erasure) the other serves at once, and a shopper's
/// reads see every event acknowledged by either node.
/// </summary>
public sealed class ClusterNodesTests : IAsyncLifetime, IDisposable
{
    private readonly string _schema = TestPostgres.NewSchema();
    private readonly string _clusterId = "test-" + Guid.NewGuid().ToString("n");
    private readonly string _root = Directory.CreateTempSubdirectory("persona-cluster-nodes").FullName;
    private ServerProcess? _a;
    private ServerProcess? _b;
    private HttpClient? _nodeA;
    private HttpClient? _nodeB;

    public async Task InitializeAsync()
    {
        _a = await TestCluster.StartNodeAsync(Path.Combine(_root, "a"), _schema, _clusterId);
        _b = await TestCluster.StartNodeAsync(Path.Combine(_root, "b"), _schema, _clusterId);
        _nodeA = new HttpClient { BaseAddress = new Uri(_a.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        _nodeB = new HttpClient { BaseAddress = new Uri(_b.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        // Both see both before the test starts.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await ActiveAsync(_nodeA) < 2 || await ActiveAsync(_nodeB) < 2) && DateTime.UtcNow < deadline) await Task.Delay(100);
    }

    public void Dispose()
    {
        _nodeA?.Dispose();
        _nodeB?.Dispose();
    }

    public async Task DisposeAsync()
    {
        if (_a is not null) await _a.DisposeAsync();
        if (_b is not null) await _b.DisposeAsync();
        await TestPostgres.DropSchemaAsync(_schema);
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task EventsThroughEitherNode_AreReadOnBoth_AndEveryShopperHasOneHolder()
    {
        var users = Enumerable.Range(0, 12).Select(i => $"shopper-{i}").ToList();
        for (var round = 0; round < 3; round++)
        {
            var node = round % 2 == 0 ? _nodeA! : _nodeB!;
            var events = users.Select((u, i) => new { id = $"e-{round}-{i}", user_id = u, type = "view", item_id = $"item-{round}", timestamp = $"2026-11-0{round + 1}T10:00:00Z" });
            (await node.PostAsync("/v1/events", Json(events))).EnsureSuccessStatusCode();
            // A read right after the acknowledgement, on either node, sees every event.
            foreach (var reader in new[] { _nodeA!, _nodeB! })
                foreach (var user in users)
                    Assert.Equal(round + 1, (await ProfileAsync(reader, user)).GetProperty("event_count").GetInt32());
        }
        // Each shopper's state is held by exactly one node.
        Assert.Equal(users.Count, await ShoppersAsync(_nodeA!) + await ShoppersAsync(_nodeB!));
    }

    [Fact]
    public async Task ItemsConsentAndErasure_ToldToOneNode_AreServedByTheOther()
    {
        var item = new { title = "Velvet matte lipstick 丝绒哑光口红", category_path = new[] { "Makeup", "Lips" }, price = 89.0 };
        (await _nodeA!.PutAsync("/v1/items/lip-1", Json(item))).EnsureSuccessStatusCode();
        var search = await _nodeB!.GetFromJsonAsync<JsonElement>("/v1/search?q=lipstick");
        Assert.Contains(search.GetProperty("items").EnumerateArray(), hit => hit.GetProperty("item_id").GetString() == "lip-1");

        var events = new[] { new { id = "c-1", user_id = "alice", type = "view", item_id = "lip-1" }, new { id = "c-2", user_id = "bob", type = "view", item_id = "lip-1" } };
        (await _nodeB!.PostAsync("/v1/events", Json(events))).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.OK, (await _nodeA.GetAsync("/v1/users/alice/profile")).StatusCode);

        // Consent withdrawn on one node: no profile from either.
        (await _nodeA.PutAsync("/v1/users/alice", Json(new { consent = new { personalization = false, marketing = false } }))).EnsureSuccessStatusCode();
        foreach (var node in new[] { _nodeA, _nodeB })
            Assert.Contains("withdrawn", await (await node.GetAsync("/v1/users/alice/profile")).Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Erased through one node: gone on both, and from the store.
        var erase = await _nodeB.DeleteAsync("/v1/users/bob");
        Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
        foreach (var node in new[] { _nodeA, _nodeB })
            Assert.Equal(HttpStatusCode.NotFound, (await node.GetAsync("/v1/users/bob/profile")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _nodeA.DeleteAsync("/v1/users/bob")).StatusCode);
    }

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    private static async Task<JsonElement> ProfileAsync(HttpClient node, string user)
    {
        var response = await node.GetAsync($"/v1/users/{user}/profile");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{user}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private static async Task<int> ActiveAsync(HttpClient node) =>
        (await node.GetFromJsonAsync<JsonElement>("/health")).GetProperty("cluster").GetProperty("active").GetArrayLength();

    private static async Task<int> ShoppersAsync(HttpClient node) =>
        (await node.GetFromJsonAsync<JsonElement>("/health")).GetProperty("cluster").GetProperty("shoppers").GetInt32();
}
