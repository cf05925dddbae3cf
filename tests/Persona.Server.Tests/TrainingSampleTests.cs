using System.Net;

namespace Persona.Server.Tests;

/// <summary>
/// Above <c>Persona:Models:MaxTrainingUsers</c>, a stable share of the shoppers trains the propensity models (the training
/// split holds a second profile state per shopper it replays), while everyone still gets predictions.
/// </summary>
public sealed class TrainingSampleTests : IAsyncLifetime
{
    private PersonaAppFactory App { get; } = new();

    public async Task InitializeAsync()
    {
        App.Settings["Persona:Models:MinUsersToTrain"] = "10";
        App.Settings["Persona:Models:MaxTrainingUsers"] = "30";
        App.Settings["Persona:Models:RefreshOnStart"] = "false";
        _ = App.CreateClient();
        await AudienceShopFactory.SeedAsync(App.Engine);
    }

    [Fact]
    public async Task Refresh_TrainsOnAStableShare_AndPredictsForEveryone()
    {
        using var client = App.CreateClient();
        var first = await (await client.PostAsync("/v1/segments/refresh", null)).ReadJsonAsync();
        var second = await (await client.PostAsync("/v1/segments/refresh", null)).ReadJsonAsync();

        var users = first.GetProperty("users").GetInt32();
        Assert.Equal(AudienceShopFactory.Users - 3, users);
        // A share of the shoppers with a state: the three without counted events are among them.
        Assert.Equal(Math.Round(30.0 / AudienceShopFactory.Users, 6), first.GetProperty("training_share").GetDouble(), 6);
        var rows = first.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("rows").GetInt32()).ToList();
        Assert.NotEmpty(rows);
        // About 30 of the 67: a hash share, not an exact count, and the same shoppers on every refresh.
        Assert.All(rows, r => Assert.InRange(r, 12, 50));
        Assert.Equal(rows, second.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("rows").GetInt32()).ToList());

        foreach (var user in new[] { "u00", "u01", "u02", "u05", "u68" })
        {
            var profile = await (await client.GetAsync($"/v1/users/{user}/profile")).ReadJsonAsync();
            Assert.InRange(profile.GetProperty("predictions").GetProperty("churn_risk").GetDouble(), 0, 1);
        }
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}
