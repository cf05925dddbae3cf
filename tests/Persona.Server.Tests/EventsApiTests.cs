using System.Net;
using System.Text.Json;

namespace Persona.Server.Tests;

public sealed class EventsApiTests : IClassFixture<PersonaAppFactory>
{
    private readonly PersonaAppFactory _factory;
    private readonly HttpClient _client;

    public EventsApiTests(PersonaAppFactory factory)
    {
        _factory = factory;
        _client = factory.CreateClient();
    }

    private static string Ev(string fields) => "{" + fields + "}";
    private const string Ok = "\"user_id\":\"u1\",\"type\":\"view\",\"item_id\":\"i1\",\"timestamp\":\"2026-01-01T00:00:00Z\"";

    public static TheoryData<string, string> InvalidEvents => new()
    {
        { "{\"type\":\"view\",\"item_id\":\"i1\"}", "events[1].user_id" },
        { "{\"user_id\":\"\",\"type\":\"view\",\"item_id\":\"i1\"}", "events[1].user_id" },
        { "{\"user_id\":\"" + new string('u', 200) + "\",\"type\":\"view\",\"item_id\":\"i1\"}", "events[1].user_id" },
        { "{\"user_id\":\"u1\",\"type\":\"teleport\",\"item_id\":\"i1\"}", "events[1].type" },
        { "{\"user_id\":\"u1\",\"item_id\":\"i1\"}", "events[1].type" },
        { "{\"user_id\":\"u1\",\"type\":\"view\"}", "events[1].item_id" },
        { "{\"user_id\":\"u1\",\"type\":\"search\"}", "events[1].query" },
        { "{\"user_id\":\"u1\",\"type\":\"search\",\"query\":\"" + new string('q', 600) + "\"}", "events[1].query" },
        { "{\"user_id\":\"u1\",\"type\":\"view\",\"item_id\":\"i1\",\"timestamp\":\"2999-01-01T00:00:00Z\"}", "events[1].timestamp" },
        { "{\"user_id\":\"u1\",\"type\":\"view\",\"item_id\":\"i1\",\"timestamp\":\"yesterday\"}", "events[1].timestamp" },
        { "{\"user_id\":\"u1\",\"type\":\"purchase\",\"item_id\":\"i1\",\"value\":-5}", "events[1].value" },
        { "{\"user_id\":\"u1\",\"type\":\"rate\",\"item_id\":\"i1\",\"value\":9}", "events[1].value" },
        { "{\"user_id\":\"u1\",\"type\":\"view\",\"item_id\":\"i1\",\"value\":\"lots\"}", "events[1].value" },
        { "{\"user_id\":42,\"type\":\"view\",\"item_id\":{}}", "events[1].item_id" },
        { "\"not an object\"", "events[1].event" },
        { "{\"user_id\":\"u1\",\"type\":\"click\",\"item_id\":\"i1\",\"position\":2}", "events[1].position" },
        { "{\"user_id\":\"u1\",\"type\":\"click\",\"item_id\":\"i1\",\"request_id\":\"rq_1\",\"position\":1.5}", "events[1].position" },
        { "{\"user_id\":\"u1\",\"type\":\"click\",\"item_id\":\"i1\",\"request_id\":7}", "events[1].request_id" },
    };

    [Fact]
    public async Task PostEvents_ClickWithRequestAndPosition_IsStoredWithThem()
    {
        var body = "[{\"id\":\"attributed-click\",\"user_id\":\"attributed-user\",\"type\":\"click\",\"item_id\":\"i1\",\"request_id\":\"rq_0123\",\"position\":4,\"timestamp\":\"2026-01-01T00:00:00Z\"}]";

        var response = await _client.PostAsync("/v1/events", HttpJson.Body(body));

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var stored = Assert.Single(await _factory.Engine.Store.GetUserEventsAsync("attributed-user"));
        Assert.Equal(("rq_0123", 4), (stored.RequestId, stored.Position));
    }

    [Theory]
    [MemberData(nameof(InvalidEvents))]
    public async Task PostEvents_InvalidEventInBatch_Returns400NamingFieldAndStoresNothing(string invalid, string expectedKey)
    {
        var before = await _factory.CountEventsAsync();
        var body = $"[{Ev(Ok.Replace("u1", "valid-user"))},{invalid}]";

        var response = await _client.PostAsync("/v1/events", HttpJson.Body(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        var keys = problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains(expectedKey, keys);
        Assert.Equal(before, await _factory.CountEventsAsync());
    }

    [Fact]
    public async Task PostEvents_SeveralBadEvents_ListsEveryOneByIndex()
    {
        var body = "[{\"user_id\":\"u1\",\"type\":\"view\"},{\"user_id\":\"u1\",\"type\":\"view\",\"item_id\":\"i\"},{\"type\":\"nope\"}]";

        var response = await _client.PostAsync("/v1/events", HttpJson.Body(body));

        var keys = (await response.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Contains("events[0].item_id", keys);
        Assert.Contains("events[2].user_id", keys);
        Assert.Contains("events[2].type", keys);
        Assert.DoesNotContain(keys, k => k.StartsWith("events[1]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PostEvents_MoreThanMaxBatch_Returns400()
    {
        var events = string.Join(",", Enumerable.Range(0, 1001).Select(i => Ev($"\"id\":\"big-{i}\",{Ok}")));

        var response = await _client.PostAsync("/v1/events", HttpJson.Body($"[{events}]"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("events", (await response.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("")]
    [InlineData("{\"events\": 5}")]
    public async Task PostEvents_MalformedBody_Returns400ProblemDetails(string body)
    {
        var response = await _client.PostAsync("/v1/events", HttpJson.Body(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task PostEvents_RetriedBatch_StoresNothingTwice()
    {
        var batch = "{\"events\":[" + string.Join(",", Enumerable.Range(0, 20).Select(i => Ev($"\"id\":\"retry-{i}\",{Ok.Replace("u1", "retry-user")}"))) + "]}";
        var before = await _factory.CountEventsAsync();

        var first = await (await _client.PostAsync("/v1/events", HttpJson.Body(batch))).ReadJsonAsync();
        var second = await (await _client.PostAsync("/v1/events", HttpJson.Body(batch))).ReadJsonAsync();

        Assert.Equal(20, first.GetProperty("stored").GetInt32());
        Assert.Equal(0, second.GetProperty("stored").GetInt32());
        Assert.Equal(20, second.GetProperty("duplicates").GetInt32());
        Assert.Equal(before + 20, await _factory.CountEventsAsync());
    }

    [Fact]
    public async Task PostEvents_ExactDuplicateWithoutIds_StoredOnce()
    {
        var e = Ev(Ok.Replace("u1", "dup-user"));
        var before = await _factory.CountEventsAsync();

        var response = await (await _client.PostAsync("/v1/events", HttpJson.Body($"[{e},{e}]"))).ReadJsonAsync();

        Assert.Equal(1, response.GetProperty("stored").GetInt32());
        Assert.Equal(before + 1, await _factory.CountEventsAsync());
        var ids = response.GetProperty("event_ids").EnumerateArray().Select(x => x.GetString()).ToList();
        Assert.Equal(ids[0], ids[1]);
    }

    [Fact]
    public async Task GetProfile_RightAfterEvent_IncludesIt()
    {
        await _client.PutAsync("/v1/items/lip-1", HttpJson.Body("{\"title\":\"Matte Lipstick\",\"category_path\":[\"Beauty\",\"Makeup\",\"Lipstick\"],\"brand\":\"Rouge\",\"price\":199,\"attributes\":{\"category_path_zh\":\"美妆 > 彩妆 > 口红\"}}"));
        var post = await _client.PostAsync("/v1/events", HttpJson.Body("[{\"id\":\"fresh-1\",\"user_id\":\"fresh-user\",\"type\":\"purchase\",\"item_id\":\"lip-1\",\"value\":199,\"timestamp\":\"2026-03-01T10:00:00Z\"}]"));
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);

        var profile = await (await _client.GetAsync("/v1/users/fresh-user/profile")).ReadJsonAsync();

        Assert.Equal(1, profile.GetProperty("event_count").GetInt64());
        var categories = profile.GetProperty("affinities").GetProperty("categories").EnumerateArray().Select(a => a.GetProperty("key").GetString()).ToList();
        Assert.Contains("Beauty > Makeup > Lipstick", categories);
        var tags = profile.GetProperty("tags").EnumerateArray().ToList();
        var lipstick = Assert.Single(tags, t => t.GetProperty("key").GetString() == "category:Beauty > Makeup > Lipstick");
        Assert.Contains("口红", lipstick.GetProperty("label_zh").GetString());
        Assert.Contains("fresh-1", lipstick.GetProperty("evidence_event_ids").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public async Task GetProfile_UnknownUser_Returns404Problem()
    {
        var response = await _client.GetAsync("/v1/users/nobody-at-all/profile");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
