using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Persona.Abstractions;

namespace Persona.Server.Tests;

/// <summary>
/// Issue 13, item 2: a shop whose history ends on 2026-10-01, then one live event stamped with its receive time (weeks
/// later). It may change its own shopper and nobody else; a refresh that finds nothing trainable keeps the previous
/// predictions and says why.
/// </summary>
public sealed class ShopClockTests
{
    private static async Task<long> ChurnedAsync(HttpClient client)
    {
        var response = await client.PostAsync("/v1/audiences", HttpJson.Body("""{"lifecycle":["churned"],"min_count":1}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Zero is below k = 1, so it is published as suppressed, without a count.
        var json = await response.ReadJsonAsync();
        return json.TryGetProperty("count", out var count) && count.ValueKind == JsonValueKind.Number ? count.GetInt64() : 0;
    }

    private static async Task<JsonElement> ProfileAsync(HttpClient client, string user)
    {
        var response = await client.GetAsync($"/v1/users/{user}/profile");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    [Fact]
    public async Task OneLiveEventWithoutTimestamp_ChangesOnlyItsShopper_AndRefreshStillPredicts()
    {
        await using var app = new PersonaAppFactory();
        app.Settings["Persona:Models:RefreshOnStart"] = "false";
        using var client = app.CreateClient();
        await AudienceShopFactory.SeedAsync(app.Engine);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/segments/refresh", null)).StatusCode);
        var churned = await ChurnedAsync(client);
        var clock = app.Engine.AsOf;
        var before = await ProfileAsync(client, "u01");
        var wasChurned = (await ProfileAsync(client, "u00")).GetProperty("traits").GetProperty("lifecycle").GetString() == "churned";

        // No timestamp: stamped with the time it is received, weeks after the history ends.
        var posted = await client.PostAsync("/v1/events", HttpJson.Body("""[{"user_id":"u00","type":"view","item_id":"i1"}]"""));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);

        Assert.Equal(wasChurned ? churned - 1 : churned, await ChurnedAsync(client));
        // The shop clock moves at most to where other shoppers already were (here: within the history's last day).
        Assert.InRange(app.Engine.AsOf, clock, clock.AddDays(1));
        var after = await ProfileAsync(client, "u01");
        Assert.Equal(before.GetProperty("traits").GetProperty("lifecycle").GetString(), after.GetProperty("traits").GetProperty("lifecycle").GetString());
        Assert.InRange(after.GetProperty("as_of").GetDateTimeOffset(), clock, clock.AddDays(1));
        var live = await ProfileAsync(client, "u00");
        Assert.Equal("active", live.GetProperty("traits").GetProperty("lifecycle").GetString());
        Assert.True(live.GetProperty("as_of").GetDateTimeOffset() > clock.AddDays(30));

        var refresh = await (await client.PostAsync("/v1/segments/refresh", null)).ReadJsonAsync();
        Assert.NotEmpty(refresh.GetProperty("tasks").EnumerateArray());
        var predictions = (await ProfileAsync(client, "u01")).GetProperty("predictions");
        Assert.InRange(predictions.GetProperty("churn_risk").GetDouble(), 0, 1);
        Assert.InRange(predictions.GetProperty("purchase_propensity").GetDouble(), 0, 1);

        // Forgetting the shopper forgets their event's effect too.
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync("/v1/users/u00")).StatusCode);
        Assert.InRange(app.Engine.AsOf, clock.AddDays(-1), clock.AddDays(1));
    }

    [Fact]
    public async Task Refresh_NothingTrainable_KeepsThePreviousPredictionsAndSaysWhy()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 10, 1, 1, 0, 0, TimeSpan.Zero));
        await using var app = new PersonaAppFactory { TestServices = s => s.AddSingleton<TimeProvider>(time) };
        app.Settings["Persona:Clock"] = "wall";
        app.Settings["Persona:Models:RefreshOnStart"] = "false";
        using var client = app.CreateClient();
        await AudienceShopFactory.SeedAsync(app.Engine);
        var first = await (await client.PostAsync("/v1/segments/refresh", null)).ReadJsonAsync();
        Assert.NotEmpty(first.GetProperty("tasks").EnumerateArray());
        var model = first.GetProperty("prediction_model").GetString();
        var before = (await ProfileAsync(client, "u01")).GetProperty("predictions");

        // Two months on, nothing has happened: the last 14 days hold no outcomes to learn from.
        time.Now = time.Now.AddDays(65);
        var second = await (await client.PostAsync("/v1/segments/refresh", null)).ReadJsonAsync();

        Assert.Contains("No prediction task could be trained", second.GetProperty("skipped").GetString(), StringComparison.Ordinal);
        Assert.Contains("previous predictions", second.GetProperty("skipped").GetString(), StringComparison.Ordinal);
        Assert.Equal(model, second.GetProperty("prediction_model").GetString());
        Assert.NotEmpty(second.GetProperty("tasks").EnumerateArray());
        var after = (await ProfileAsync(client, "u01")).GetProperty("predictions");
        Assert.Equal(before.GetProperty("churn_risk").GetDouble(), after.GetProperty("churn_risk").GetDouble());
        Assert.Equal(before.GetProperty("purchase_propensity").GetDouble(), after.GetProperty("purchase_propensity").GetDouble());
        Assert.Equal(model, after.GetProperty("model_version").GetString());
    }

    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}
