extern alias cli;

using System.Net;
using System.Text.Json;

namespace Persona.Server.Tests;

/// <summary>Console.Out is process-wide: the tests that capture it run alone.</summary>
[CollectionDefinition(nameof(ConsoleCapture), DisableParallelization = true)]
public sealed class ConsoleCapture;

/// <summary>Issue 13, item 2: <c>persona profile</c> and the API read the same state (traits, predictions, segment).</summary>
[Collection(nameof(ConsoleCapture))]
public sealed class CliProfileTests
{
    [Fact]
    public async Task ProfileJson_AfterARefreshAndALiveEvent_MatchesTheApi()
    {
        await using var app = new PersonaAppFactory();
        app.Settings["Persona:Models:RefreshOnStart"] = "false";
        using var client = app.CreateClient();
        await AudienceShopFactory.SeedAsync(app.Engine);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/segments/refresh", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/events", HttpJson.Body("""[{"user_id":"u00","type":"view","item_id":"i1"}]"""))).StatusCode);

        foreach (var user in new[] { "u00", "u01" })
        {
            var api = await (await client.GetAsync($"/v1/users/{user}/profile")).ReadJsonAsync();
            var cliJson = await RunCliAsync("profile", "--data", app.DataDirectory, user, "--json");

            Assert.Equal(api.GetProperty("as_of").GetDateTimeOffset(), cliJson.GetProperty("as_of").GetDateTimeOffset());
            Assert.Equal(api.GetProperty("traits").GetProperty("lifecycle").GetString(), cliJson.GetProperty("traits").GetProperty("lifecycle").GetString());
            Assert.True(JsonElement.DeepEquals(api.GetProperty("traits"), cliJson.GetProperty("traits")), $"traits: {api.GetProperty("traits")} vs {cliJson.GetProperty("traits")}");
            Assert.True(JsonElement.DeepEquals(api.GetProperty("predictions"), cliJson.GetProperty("predictions")), $"predictions: {api.GetProperty("predictions")} vs {cliJson.GetProperty("predictions")}");
            Assert.True(JsonElement.DeepEquals(api.GetProperty("segment"), cliJson.GetProperty("segment")), $"segment: {api.GetProperty("segment")} vs {cliJson.GetProperty("segment")}");
            Assert.True(JsonElement.DeepEquals(api.GetProperty("summary"), cliJson.GetProperty("summary")), $"summary: {api.GetProperty("summary")} vs {cliJson.GetProperty("summary")}");
        }
    }

    private static async Task<JsonElement> RunCliAsync(params string[] args)
    {
        var original = Console.Out;
        using var output = new StringWriter();
        Console.SetOut(output);
        int exit;
        try
        {
            exit = await cli::Persona.Cli.PersonaCli.BuildRootCommand().Parse(args).InvokeAsync();
        }
        finally
        {
            Console.SetOut(original);
        }
        Assert.Equal(0, exit);
        return JsonDocument.Parse(output.ToString()).RootElement.Clone();
    }
}
