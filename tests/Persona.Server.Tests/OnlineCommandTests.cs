extern alias cli;

using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Online;
using Persona.Hosting;
using Persona.Hosting.Online;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary><c>persona online metrics</c> reads the counters a server checkpointed, as GET /v1/metrics/online reports them.</summary>
public sealed class OnlineCommandTests : IDisposable
{
    private readonly DataFolder _folder = new("persona-online-cli");

    [Fact]
    public async Task Metrics_FromTheDataFolder_MatchWhatWasServedAndClicked()
    {
        var engine = new PersonaEngine(new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _folder.Path }),
            Options.Create(new PersonaOptions { DataDirectory = _folder.Path }), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        var online = new OnlineLoop(engine, Options.Create(new OnlineOptions()), TimeProvider.System);
        await using (engine)
        {
            await engine.StartAsync(null, CancellationToken.None);
            Assert.Empty(await engine.UpsertItemsAsync([new Item { Id = "a", Title = "A" }, new Item { Id = "b", Title = "B" }], CancellationToken.None));
            var request = online.Serve(OnlineSurface.Search, "alice", null, [new ShownItem("a", "lexical"), new ShownItem("b", "semantic")]);
            var now = DateTimeOffset.UtcNow;
            Assert.Empty((await engine.IngestEventsAsync(
            [
                new Event { UserId = "alice", Type = EventType.Impression, ItemId = "a", RequestId = request, Position = 1, Timestamp = now },
                new Event { UserId = "alice", Type = EventType.Impression, ItemId = "b", RequestId = request, Position = 2, Timestamp = now },
                new Event { UserId = "alice", Type = EventType.Click, ItemId = "b", RequestId = request, Position = 2, Timestamp = now },
            ], CancellationToken.None)).Errors);
        }

        var (exit, output, error) = await RunAsync("online", "metrics", "--data", _folder.Path, "--by", "surface,source", "--json");

        Assert.True(exit == 0, error);
        var rows = JsonDocument.Parse(output).RootElement.GetProperty("rows").EnumerateArray().ToList();
        var semantic = rows.Single(r => r.GetProperty("source").GetString() == "semantic");
        Assert.Equal(("search", 1, 1), (semantic.GetProperty("surface").GetString(), semantic.GetProperty("impressions").GetInt32(), semantic.GetProperty("clicks").GetInt32()));
        Assert.Equal(0, rows.Single(r => r.GetProperty("source").GetString() == "lexical").GetProperty("clicks").GetInt32());

        var (bad, _, badError) = await RunAsync("online", "metrics", "--data", _folder.Path, "--by", "colour");
        Assert.Equal(1, bad);
        Assert.Contains("colour", badError, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await cli::Persona.Cli.PersonaCli.BuildRootCommand().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    public void Dispose() => _folder.Dispose();
}
