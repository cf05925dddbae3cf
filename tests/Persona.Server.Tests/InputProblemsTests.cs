using System.Net;
using System.Text.Json;

namespace Persona.Server.Tests;

/// <summary>Requests a new user gets wrong: each answer says what was wrong, in the request's terms, and a rejected write stores nothing.</summary>
public sealed class InputProblemsTests(PersonaAppFactory factory) : IClassFixture<PersonaAppFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement;
    }

    private static string[] Errors(JsonElement problem, string field) =>
        problem.GetProperty("errors").TryGetProperty(field, out var messages)
            ? [.. messages.EnumerateArray().Select(m => m.GetString()!)]
            : throw new Xunit.Sdk.XunitException($"No error for '{field}' in {problem}");

    [Theory]
    [InlineData("user_id", "12345")]
    [InlineData("item_id", "42")]
    [InlineData("id", "7.0")]
    public async Task PostEvents_NumberWhereAStringBelongs_RejectedNamingTheField(string field, string number)
    {
        var fields = new Dictionary<string, string> { ["user_id"] = "\"num-user\"", ["type"] = "\"view\"", ["item_id"] = "\"num-item\"", ["timestamp"] = "\"2026-10-01T00:00:00Z\"" };
        fields[field] = number;
        var before = await factory.CountEventsAsync();

        var problem = await ProblemAsync(await _client.PostAsync("/v1/events", HttpJson.Body("[{" + string.Join(",", fields.Select(f => $"\"{f.Key}\":{f.Value}")) + "}]")));

        Assert.Contains($"\"{number}\"", Errors(problem, $"events[0].{field}")[0], StringComparison.Ordinal);
        Assert.Equal(before, await factory.CountEventsAsync());
    }

    [Fact]
    public async Task PutUser_NumberForText_RejectedNamingTheField()
    {
        var problem = await ProblemAsync(await _client.PutAsync("/v1/users/num-user", HttpJson.Body("""{"region":21}""")));
        Assert.Single(Errors(problem, "region"));
        Assert.Null(await factory.Engine.GetUserAsync("num-user", CancellationToken.None));
    }

    [Theory]
    [InlineData("/v1/users?limit=-1", "limit")]
    [InlineData("/v1/users?limit=0", "limit")]
    [InlineData("/v1/users?limit=201", "limit")]
    [InlineData("/v1/users?limit=99999999999", "limit")]
    [InlineData("/v1/users/anyone/events?limit=99999999999", "limit")]
    [InlineData("/v1/users/anyone/events?limit=-5", "limit")]
    [InlineData("/v1/users/anyone/events?limit=many", "limit")]
    [InlineData("/v1/admin/audit?limit=99999999999", "limit")]
    [InlineData("/v1/search?q=lipstick&n=abc", "n")]
    [InlineData("/v1/search?q=lipstick&priceMax=cheap", "priceMax")]
    [InlineData("/v1/search?q=lipstick&personalize=maybe", "personalize")]
    public async Task Read_BadQueryParameter_400NamingIt(string path, string field)
    {
        var problem = await ProblemAsync(await _client.GetAsync(path));
        Assert.NotEmpty(Errors(problem, field));
        Assert.DoesNotContain("stored", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_Invalid_DoesNotClaimNothingWasStored()
    {
        var problem = await ProblemAsync(await _client.GetAsync("/v1/search?q=%20&n=0"));
        Assert.NotEmpty(Errors(problem, "q"));
        Assert.NotEmpty(Errors(problem, "n"));
        Assert.DoesNotContain("stored", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/v1/events", "POST")]
    [InlineData("/v1/items/deep", "PUT")]
    [InlineData("/v1/users/deep", "PUT")]
    [InlineData("/v1/audiences", "POST")]
    public async Task Write_ValidJsonNested5000Deep_SaysTooDeepNotInvalid(string path, string method)
    {
        var body = new string('[', 5_000) + new string(']', 5_000);
        var problem = await ProblemAsync(await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = HttpJson.Body(body) }));
        var message = Errors(problem, "body")[0];
        Assert.Contains("valid JSON but nests 5,000 levels", message, StringComparison.Ordinal);
        Assert.Contains("at most 32", message, StringComparison.Ordinal);
        Assert.DoesNotContain("not valid", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_InvalidJsonNestedDeep_StillSaysWhereItIsInvalid()
    {
        var body = new string('[', 100) + "}";
        var problem = await ProblemAsync(await _client.PostAsync("/v1/events", HttpJson.Body(body)));
        Assert.StartsWith("The body is not valid JSON at line 1", Errors(problem, "body")[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"tags":["lifecycle:active"]}""", "tags", "tags_all")]
    [InlineData("""{"segment":["s1"]}""", "segment", "segments")]
    [InlineData("""{"predictions":{"churn_risk":{"minimum":0.5}}}""", "predictions.churn_risk.minimum", "min, max")]
    public async Task CreateAudience_UnknownField_NamesItAndListsTheAllowedOnes(string rule, string field, string allowed)
    {
        var problem = await ProblemAsync(await _client.PostAsync("/v1/audiences", HttpJson.Body(rule)));
        var message = Errors(problem, field)[0];
        Assert.Contains(allowed, message, StringComparison.Ordinal);
        Assert.DoesNotContain("Persona.", problem.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"segments":"s1"}""", "segments")]
    [InlineData("""{"min_count":"ten"}""", "min_count")]
    [InlineData("""{"affinities":{"Beauty":"high"}}""", "affinities.Beauty")]
    public async Task CreateAudience_WrongType_SaysWhatTheFieldTakesWithoutDotNetTypes(string rule, string field)
    {
        var problem = await ProblemAsync(await _client.PostAsync("/v1/audiences", HttpJson.Body(rule)));
        Assert.StartsWith("Invalid value;", Errors(problem, field)[0], StringComparison.Ordinal);
        Assert.DoesNotContain("System.", problem.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostEvents_IdResentWithOtherContent_ReportedAsConflictAndStoredEventKept()
    {
        const string first = """[{"id":"conflict-1","user_id":"conflict-user","type":"purchase","item_id":"i1","value":10,"timestamp":"2026-10-01T00:00:00Z"}]""";
        const string changed = """[{"id":"conflict-1","user_id":"conflict-user","type":"purchase","item_id":"i2","value":20,"timestamp":"2026-10-01T00:00:00Z"}]""";
        Assert.Equal(1, (await (await _client.PostAsync("/v1/events", HttpJson.Body(first))).ReadJsonAsync()).GetProperty("stored").GetInt32());

        var retry = await (await _client.PostAsync("/v1/events", HttpJson.Body(first))).ReadJsonAsync();
        Assert.Equal(1, retry.GetProperty("duplicates").GetInt32());
        Assert.Empty(retry.GetProperty("conflicts").EnumerateArray());

        var response = await _client.PostAsync("/v1/events", HttpJson.Body(changed));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.Equal(0, body.GetProperty("stored").GetInt32());
        Assert.Equal(1, body.GetProperty("duplicates").GetInt32());
        var conflict = Assert.Single(body.GetProperty("conflicts").EnumerateArray());
        Assert.Equal(0, conflict.GetProperty("index").GetInt32());
        Assert.Equal("conflict-1", conflict.GetProperty("id").GetString());
        Assert.Equal(["item_id", "value"], conflict.GetProperty("fields").EnumerateArray().Select(f => f.GetString()));

        var stored = Assert.Single(await factory.Engine.Store.GetEventsAsync(["conflict-1"]));
        Assert.Equal("i1", stored.ItemId);
        Assert.Equal(10, stored.Value);
    }

    [Fact]
    public async Task PostEvents_ConflictInsideOneBatch_ReportsTheLaterCopy()
    {
        const string batch = """
            [{"id":"conflict-2","user_id":"conflict-user","type":"view","item_id":"i1","timestamp":"2026-10-01T00:00:00Z"},
             {"id":"conflict-2","user_id":"conflict-user","type":"view","item_id":"i1","timestamp":"2026-10-02T00:00:00Z"}]
            """;
        var body = await (await _client.PostAsync("/v1/events", HttpJson.Body(batch))).ReadJsonAsync();
        var conflict = Assert.Single(body.GetProperty("conflicts").EnumerateArray());
        Assert.Equal(1, conflict.GetProperty("index").GetInt32());
        Assert.Equal(["timestamp"], conflict.GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
    }

    [Fact]
    public async Task PostEvents_RetryWithoutTimestamp_IsNotAConflict()
    {
        const string batch = """[{"id":"conflict-3","user_id":"conflict-user","type":"view","item_id":"i1"}]""";
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsync("/v1/events", HttpJson.Body(batch))).StatusCode);
        await Task.Delay(5);
        var retry = await (await _client.PostAsync("/v1/events", HttpJson.Body(batch))).ReadJsonAsync();
        Assert.Equal(1, retry.GetProperty("duplicates").GetInt32());
        Assert.Empty(retry.GetProperty("conflicts").EnumerateArray());
    }
}
