extern alias cli;

using cli::Persona.Cli.Commands;
using Persona.Abstractions;

namespace Persona.Server.Tests;

/// <summary>The <c>bench mixed</c> runner against the real in-process pipeline: every operation runs and none fails.</summary>
public sealed class MixedBenchTests
{
    private static readonly string[] Words = ["rose", "vitamin", "matte", "hydrating", "argan", "charcoal", "silk", "citrus"];
    private static readonly string[] Kinds = ["face cream", "lipstick", "shampoo", "serum", "nail polish", "body lotion"];

    [Fact]
    public async Task MixedLoad_ThreeSeconds_EveryOperationRunsWithoutErrorsAndEveryEventIsAcknowledged()
    {
        await using var app = new PersonaAppFactory();
        using var client = app.CreateClient();
        var (users, items) = await SeedAsync(app.Engine);
        var eventsBefore = await app.CountEventsAsync();
        var progress = new List<string>();
        var runner = new MixedLoadRunner(client, MixedLoadSources.From(users, items), new MixedLoadOptions
        {
            Duration = TimeSpan.FromSeconds(3),
            Concurrency = 4,
            BatchSize = 20,
            ProgressInterval = TimeSpan.FromSeconds(1),
        })
        {
            // The server runs in this process, so this process's resident memory is the server's.
            ResidentBytes = () => ServerMemory.ResidentBytes(Environment.ProcessId),
            Progress = line => { lock (progress) progress.Add(line); },
        };

        var result = await runner.RunAsync();

        Assert.True(result.Errors == 0, string.Join('\n', result.ErrorSamples));
        Assert.All(Enum.GetValues<MixedOperation>(), op => Assert.True(result.Operations.Single(r => r.Operation == op).Requests > 0, $"{op} never ran"));
        Assert.True(result.EventsSent > 0);
        Assert.Equal(result.EventsSent, result.EventsAcknowledged);
        Assert.Equal(eventsBefore + result.EventsSent, await app.CountEventsAsync());
        Assert.True(result.Passed);
        Assert.NotEmpty(progress);
        Assert.NotNull(result.Memory);
        Assert.True(result.Memory.StartBytes > 0 && result.Memory.PeakBytes >= result.Memory.EndBytes);
        Assert.All(result.Operations.Where(r => r.Requests > 0), r => Assert.True(r.P50Ms <= r.P99Ms && r.P99Ms <= r.MaxMs));
    }

    [Fact]
    public async Task MixedLoad_ServerAnswers404_CountsEveryFailedRequestAsAnError()
    {
        await using var app = new PersonaAppFactory();
        using var client = app.CreateClient();
        var (_, items) = await SeedAsync(app.Engine);
        var runner = new MixedLoadRunner(client, MixedLoadSources.From(["nobody-1", "nobody-2"], items), new MixedLoadOptions
        {
            Duration = TimeSpan.FromSeconds(1),
            Concurrency = 2,
            Mix = MixedLoadOptions.ParseMix("profile=1"),
        });

        var result = await runner.RunAsync();

        var profile = result.Operations.Single(r => r.Operation == MixedOperation.Profile);
        Assert.True(profile.Requests > 0);
        Assert.Equal(profile.Requests, profile.Errors);
        Assert.False(result.Passed);
        Assert.Contains("404", result.ErrorSamples[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ingest=1,profile=4,recommend=4,search=2", 1, 4, 4, 2)]
    [InlineData("search=3", 0, 0, 0, 3)]
    [InlineData(" Profile = 2 , INGEST=5", 5, 2, 0, 0)]
    public void ParseMix_ValidText_GivesTheWeights(string text, int ingest, int profile, int recommend, int search)
    {
        var mix = MixedLoadOptions.ParseMix(text);

        Assert.Equal([ingest, profile, recommend, search],
            [mix[MixedOperation.Ingest], mix[MixedOperation.Profile], mix[MixedOperation.Recommend], mix[MixedOperation.Search]]);
    }

    [Theory]
    [InlineData("ingest=0")]
    [InlineData("browse=1")]
    [InlineData("ingest=-1")]
    [InlineData("ingest")]
    [InlineData("2=1")]
    public void ParseMix_InvalidText_Throws(string text) =>
        Assert.Throws<FormatException>(() => MixedLoadOptions.ParseMix(text));

    [Fact]
    public void MemorySummary_SteadyVersusGrowing_TellsWhichIsBounded()
    {
        const long mib = 1 << 20;
        MemorySample[] steady = [.. Enumerable.Range(0, 31).Select(i => new MemorySample(i * 10, (400 + (i % 2 == 0 ? 5 : -5)) * mib))];
        MemorySample[] growing = [.. Enumerable.Range(0, 31).Select(i => new MemorySample(i * 10, (400 + 4 * i) * mib))];

        var flat = MixedLoadRunner.Summarise(steady, 300);
        var leak = MixedLoadRunner.Summarise(growing, 300);

        Assert.True(flat.Bounded);
        Assert.Equal(405 * mib, flat.PeakBytes);
        Assert.False(leak.Bounded);
        Assert.Equal(24, leak.SecondHalfSlopeMibPerMinute, 6); // 4 MiB per 10 s
        Assert.Equal(400 * mib, leak.StartBytes);
        Assert.Equal(520 * mib, leak.EndBytes);
    }

    /// <summary>48 items with real-looking titles in two categories, 12 users with a few weeks of views and purchases.</summary>
    private static async Task<(List<string> Users, List<Item> Items)> SeedAsync(Persona.Hosting.PersonaEngine engine)
    {
        var items = new List<Item>();
        for (var i = 0; i < 48; i++)
            items.Add(new Item
            {
                Id = $"i{i}",
                Title = $"{Words[i % Words.Length]} {Kinds[i % Kinds.Length]} {50 + i} ml",
                CategoryPath = i % 2 == 0 ? ["Beauty", "Skin Care"] : ["Beauty", "Makeup"],
                Brand = $"brand{i % 5}",
                Price = 10 + i,
            });
        Assert.Empty(await engine.UpsertItemsAsync(items, CancellationToken.None));
        var users = Enumerable.Range(0, 12).Select(u => $"u{u}").ToList();
        var start = DateTimeOffset.UtcNow.AddDays(-30);
        var events = new List<Event>();
        for (var u = 0; u < users.Count; u++)
            for (var k = 0; k < 8; k++)
                events.Add(new Event
                {
                    Id = $"seed-{u}-{k}", UserId = users[u], Type = k % 4 == 3 ? EventType.Purchase : EventType.View,
                    ItemId = items[(u * 7 + k * 5) % items.Count].Id, Timestamp = start.AddDays(k * 3).AddHours(u),
                });
        Assert.Empty((await engine.IngestEventsAsync(events, CancellationToken.None)).Errors);
        return (users, items);
    }
}

/// <summary>The load generators' behaviour when no server answers.</summary>
public sealed class BenchCommandTests
{
    [Theory]
    [InlineData("ingest", "--events", "10", "--warmup", "0")]
    [InlineData("profile", "--seconds", "1", "--concurrency", "2")]
    public async Task Bench_NoServerListening_ExitsTwoWithOneLineNamingTheAddress(params string[] args)
    {
        var error = new StringWriter();
        string[] command = ["bench", args[0], "--url", "http://127.0.0.1:1", .. args[1..]];

        var exit = await cli::Persona.Cli.PersonaCli.BuildRootCommand().Parse(command)
            .InvokeAsync(new System.CommandLine.InvocationConfiguration { Error = error });

        Assert.Equal(2, exit);
        var message = error.ToString().Trim();
        Assert.StartsWith("Cannot reach the server at http://127.0.0.1:1", message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", message, StringComparison.Ordinal);
    }
}
