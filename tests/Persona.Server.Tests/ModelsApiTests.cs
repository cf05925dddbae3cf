using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Models.Sequence;
using Persona.Hosting;
using Persona.Storage.Postgres.Testing;

namespace Persona.Server.Tests;

/// <summary>A small learnable shop for the sequence model: shoppers walk one brand's items in order.</summary>
internal static class ChainShop
{
    public static readonly DateTimeOffset Start = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    public static List<Item> Items() =>
        [.. Enumerable.Range(0, 40).Select(i => new Item { Id = $"b{i / 10}-{i % 10}", Title = $"Item {i}", Brand = $"Brand{i / 10}", CategoryPath = [$"Cat{i / 10 % 2}"], Price = 10 + i })];

    public static List<Event> Events(int users = 120, int seed = 7)
    {
        var random = new Random(seed);
        var events = new List<Event>();
        for (var u = 0; u < users; u++)
        {
            var k = random.Next(10);
            for (var t = 0; t < 6 + random.Next(6); t++)
            {
                var item = random.Next(6) == 0 ? $"b{random.Next(4)}-{random.Next(10)}" : $"b{u % 4}-{k}";
                events.Add(new Event { Id = $"e{u}-{t}", UserId = $"u{u:D3}", Type = EventType.View, ItemId = item, Timestamp = Start.AddHours((u * 20) + (t * 3)) });
                k = (k + 1) % 10;
            }
        }
        return events;
    }

    public static async Task SeedAsync(PersonaEngine engine)
    {
        Assert.Empty(await engine.UpsertItemsAsync(Items(), CancellationToken.None));
        foreach (var chunk in Events().Chunk(1000)) Assert.Empty((await engine.IngestEventsAsync(chunk, CancellationToken.None)).Errors);
    }

    public static SequenceTrainingOptions Small(int epochs = 12) => new()
    {
        Dimension = 16, Layers = 1, Heads = 1, MaxLength = 12, Dropout = 0.1f, Epochs = epochs, Patience = epochs, BatchSize = 32,
        LearningRate = 1e-2f, SampledNegatives = 0, Seed = 3,
    };

    /// <summary>One epoch at a learning rate too small to learn: clearly worse than <see cref="Small"/>.</summary>
    public static SequenceTrainingOptions Useless() => Small(1) with { LearningRate = 1e-6f, RefitEpochs = 0, Seed = 11 };
}

/// <summary>
/// Which sequence model serves, through the real store and the real HTTP pipeline: the gate, the audit log, promotion
/// and rollback through <c>/v1/admin/models</c> without a restart, and the training options.
/// </summary>
public sealed class ModelsApiTests
{
    private static SequenceModelService Models(PersonaAppFactory app) => app.Services.GetRequiredService<SequenceModelService>();

    private static async Task<IReadOnlyList<AuditEntry>> AuditAsync(PersonaAppFactory app) => await app.Engine.Store.ReadAuditAsync(100);

    [Fact]
    public async Task Train_WorseModel_StoredNotServed_ForcedOneServes_EachDecisionAudited()
    {
        await using var app = new PersonaAppFactory();
        using var client = app.CreateClient();
        await ChainShop.SeedAsync(app.Engine);
        var models = Models(app);

        var first = await models.TrainAsync(ChainShop.Small(), "test");
        var worse = await models.TrainAsync(ChainShop.Useless(), "test");
        Assert.Equal(SequenceServingDecisions.First, first.Gate.Decision);
        Assert.Equal(SequenceServingDecisions.Rejected, worse.Gate.Decision);
        Assert.Equal(first.Version, worse.Gate.ServingVersion);
        Assert.Equal(first.Version, app.Services.GetRequiredService<ISequenceModelProvider>().Current!.Version);

        var forced = await models.TrainAsync(ChainShop.Useless(), "test", force: true);
        Assert.Equal(SequenceServingDecisions.Forced, forced.Gate.Decision);
        Assert.Equal(forced.Version, app.Services.GetRequiredService<ISequenceModelProvider>().Current!.Version);

        var audit = await AuditAsync(app);
        var rejected = Assert.Single(audit, e => e.Action == AuditActions.RejectModel);
        Assert.Equal(worse.Version, rejected.Target);
        // Both figures, the candidate's and the serving model's on the same split.
        Assert.Contains($"{worse.Gate.CandidateNdcg10:0.0000} vs {worse.Gate.ServingNdcg10:0.0000} of serving {first.Version}", rejected.Detail, StringComparison.Ordinal);
        Assert.Single(audit, e => e.Action == AuditActions.ServeModel && e.Target == first.Version);
        Assert.Single(audit, e => e.Action == AuditActions.ForceModel && e.Target == forced.Version && e.Actor == "test");

        // The list says which serves and what the gate said of each.
        var list = await (await client.GetAsync("/v1/admin/models")).ReadJsonAsync();
        Assert.Equal(forced.Version, list.GetProperty("serving").GetString());
        var versions = list.GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal([forced.Version, worse.Version, first.Version], versions.Select(v => v.GetProperty("version").GetString()));
        Assert.Equal("rejected", versions[1].GetProperty("gate").GetProperty("decision").GetString());
        Assert.True(versions[2].GetProperty("validation_ndcg10").GetDouble() > 0.3);
        Assert.True(versions[0].GetProperty("serving").GetBoolean());
        Assert.False(list.GetProperty("training").GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task PromoteAndRollback_ThroughTheApi_ServeWithoutRestart_AndAreAudited()
    {
        await using var app = new PersonaAppFactory();
        // Two versions stored before the server starts: the first serves, the second was rejected by the gate.
        var repository = SequenceModelRepository.ForDataDirectory(app.DataDirectory);
        var data = SequenceDataset.Build(
            ChainShop.Events().Select((e, i) => new StoredEvent { Sequence = i + 1, Id = e.Id!, UserId = e.UserId, Type = e.Type, ItemId = e.ItemId, Timestamp = e.Timestamp!.Value }),
            ChainShop.Items());
        var good = SequenceTrainer.Train(data, ChainShop.Small(4));
        var first = repository.Save(good, ChainShop.Small(4));
        var second = repository.Store(SequenceTrainer.Train(data, ChainShop.Useless()), ChainShop.Useless(),
            gate: new SequenceGateOutcome(SequenceServingDecisions.Rejected, 0.01, first, good.BestValidationNdcg10));
        using var client = app.CreateClient();
        var provider = app.Services.GetRequiredService<ISequenceModelProvider>();
        await WaitForAsync(() => provider.Current?.Version == first);

        var promoted = await client.PostAsync($"/v1/admin/models/{second}/promote", null);
        Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
        var body = await promoted.ReadJsonAsync();
        Assert.Equal(second, body.GetProperty("serving").GetString());
        Assert.Equal(first, body.GetProperty("before").GetString());
        // The server's own model, at once: no restart, no poll.
        Assert.Equal(second, provider.Current!.Version);
        var listed = await (await client.GetAsync("/v1/admin/models")).ReadJsonAsync();
        Assert.Equal(second, listed.GetProperty("loaded").GetString());
        Assert.Equal(first, listed.GetProperty("rollback_to").GetString());

        var rolledBack = await client.PostAsync("/v1/admin/models/rollback", null);
        Assert.Equal(HttpStatusCode.OK, rolledBack.StatusCode);
        Assert.Equal(first, (await rolledBack.ReadJsonAsync()).GetProperty("serving").GetString());
        Assert.Equal(first, provider.Current!.Version);
        Assert.Equal(first, repository.ServingVersion());

        // Only the first version has served now: nothing further back.
        var nothing = await client.PostAsync("/v1/admin/models/rollback", null);
        Assert.Equal(HttpStatusCode.Conflict, nothing.StatusCode);
        Assert.Equal("application/problem+json", nothing.Content.Headers.ContentType?.MediaType);
        Assert.Equal(first, provider.Current!.Version);

        var audit = await AuditAsync(app);
        var promotion = Assert.Single(audit, e => e.Action == AuditActions.PromoteModel);
        Assert.Equal(second, promotion.Target);
        Assert.Equal("open", promotion.Actor);
        Assert.Contains(first, promotion.Detail, StringComparison.Ordinal);
        var rollback = Assert.Single(audit, e => e.Action == AuditActions.RollbackModel);
        Assert.Equal(first, rollback.Target);
        Assert.Contains(second, rollback.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promote_UnknownVersion_404ProblemNamingItAndNothingChanges()
    {
        await using var app = new PersonaAppFactory();
        using var client = app.CreateClient();

        var response = await client.PostAsync("/v1/admin/models/seq-20990101T000000Z/promote", null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        Assert.Contains("'seq-20990101T000000Z'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(await AuditAsync(app), e => e.Action == AuditActions.PromoteModel);
        Assert.False(File.Exists(Path.Combine(app.DataDirectory, "models", "sequence", SequenceServingPointer.FileName)));
    }

    [Fact]
    public async Task ModelsApi_NeedsTheAdminScope()
    {
        await using var app = new PersonaAppFactory();
        app.Settings["Persona:Security:Open"] = "false";
        app.Settings["Persona:Security:Keys:0:Name"] = "reader";
        app.Settings["Persona:Security:Keys:0:Hash"] = Security.ApiKeyOptions.HashOf("pk_reader_models");
        app.Settings["Persona:Security:Keys:0:Scopes:0"] = "read";
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", "pk_reader_models");

        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/v1/admin/models")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync("/v1/admin/models/rollback", null)).StatusCode);
    }

    [Fact]
    public async Task InServiceTraining_AfterEvents_TrainsWarmStartsAndGates()
    {
        await using var app = new PersonaAppFactory();
        app.Settings["Persona:Training:AfterEvents"] = "100";
        app.Settings["Persona:Training:Epochs"] = "2";
        app.Settings["Persona:Training:MaxMinutes"] = "1";
        using var client = app.CreateClient();
        var provider = app.Services.GetRequiredService<ISequenceModelProvider>();

        await ChainShop.SeedAsync(app.Engine);
        await WaitForAsync(() => provider.Current is not null, TimeSpan.FromSeconds(90));
        var firstVersion = provider.Current!.Version;
        var status = app.Services.GetRequiredService<SequenceTrainingService>().Status;
        await WaitForAsync(() => app.Services.GetRequiredService<SequenceTrainingService>().Status.Last is not null);
        var last = app.Services.GetRequiredService<SequenceTrainingService>().Status.Last!;
        Assert.Equal(firstVersion, last.Version);
        Assert.Equal(SequenceServingDecisions.First, last.Gate!.Decision);
        Assert.True(status.Enabled);
        Assert.Contains(await AuditAsync(app), e => e.Action == AuditActions.ServeModel && e.Actor == SequenceTrainingService.Actor && e.Target == firstVersion);

        // The second run starts from the first's weights and is judged against it.
        var outcome = await app.Services.GetRequiredService<SequenceTrainingService>().TrainNowAsync("test", CancellationToken.None);
        Assert.NotNull(outcome);
        Assert.Null(outcome.Error);
        Assert.Equal(firstVersion, outcome.Gate!.ServingVersion);
        Assert.Contains(outcome.Gate.Decision, new[] { SequenceServingDecisions.Passed, SequenceServingDecisions.Rejected });
        var report = await app.Engine.Store.GetDocumentAsync(SequenceTraining.TrainingDocumentKind, outcome.Version!);
        Assert.Contains($"\"warm_started_from\":\"{firstVersion}\"", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InServiceTraining_Schedule_TrainsOnceTheIntervalHasPassed()
    {
        var clock = new ManualTime(DateTimeOffset.UtcNow);
        await using var app = new PersonaAppFactory { TestServices = services => services.AddSingleton<TimeProvider>(clock) };
        app.Settings["Persona:Training:IntervalMinutes"] = "60";
        app.Settings["Persona:Training:Epochs"] = "2";
        app.Settings["Persona:Training:MaxMinutes"] = "1";
        using var client = app.CreateClient();
        await ChainShop.SeedAsync(app.Engine);
        var trainer = app.Services.GetRequiredService<SequenceTrainingService>();
        var next = trainer.Status.NextRunAt!.Value;
        Assert.Equal(clock.Now.AddMinutes(60), next);

        // Not before the hour is up (a few checks go by), then at the next check after it.
        await Task.Delay(SequenceTrainingService.CheckInterval * 2);
        Assert.Null(trainer.Status.Last);
        clock.Now = next.AddSeconds(1);
        await WaitForAsync(() => trainer.Status.Last is not null, TimeSpan.FromSeconds(90));
        Assert.Equal("every 60 min", trainer.Status.Last!.Trigger);
        Assert.Equal(SequenceServingDecisions.First, trainer.Status.Last.Gate!.Decision);
        Assert.Equal(clock.Now.AddMinutes(60), trainer.Status.NextRunAt);
    }

    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Theory]
    [InlineData("Persona:Training:MaxMinutes", "0", "Persona:Training:MaxMinutes")]
    [InlineData("Persona:Training:IntervalMinutes", "-1", "Persona:Training:IntervalMinutes")]
    [InlineData("Persona:Training:IntervalMinutes", "10", "at least MaxMinutes")]
    [InlineData("Persona:Training:AfterEvents", "-5", "Persona:Training:AfterEvents")]
    [InlineData("Persona:Training:Epochs", "0", "Persona:Training:Epochs")]
    public async Task TrainingOptions_Invalid_StartFailsNamingTheSetting(string key, string value, string expected)
    {
        await using var app = new PersonaAppFactory();
        app.Settings[key] = value;
        var ex = Assert.Throws<OptionsValidationException>(() => app.CreateClient());
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainingOptions_Defaults_AreValidAndOff()
    {
        var options = new PersonaTrainingOptions();
        Assert.False(options.Enabled);
        Assert.Equal(PersonaTrainingOptions.DefaultMaxMinutes, options.MaxMinutes);
        Assert.True(new PersonaTrainingOptionsValidator().Validate(null, options).Succeeded);
        Assert.True(new PersonaTrainingOptionsValidator().Validate(null, new PersonaTrainingOptions { IntervalMinutes = 60, AfterEvents = 10_000 }).Succeeded);
    }

    [Fact]
    public async Task SharedStore_PromoteAndRollbackOnOneNode_ReachAnotherNodesFolder()
    {
        // Two nodes' folders over one PostgreSQL schema: the pointer travels as a store document, the files as stored files.
        var root = Path.Combine(Path.GetTempPath(), "persona-pointer", Guid.NewGuid().ToString("n"));
        var schema = TestPostgres.NewSchema();
        var options = Options.Create(new PersonaOptions
        {
            DataDirectory = root,
            Store = new PersonaStoreOptions { Provider = PersonaStoreOptions.Postgres, ConnectionString = TestPostgres.ConnectionString, Schema = schema },
        });
        var store = PersonaStores.Create(options.Value);
        try
        {
            await store.InitializeAsync();
            await using (var engine = new PersonaEngine(store, options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<PersonaEngine>.Instance))
            {
                await engine.StartAsync(progress: null, CancellationToken.None);
                await ChainShop.SeedAsync(engine);
            }
            store = PersonaStores.Create(options.Value);
            await store.InitializeAsync();
            using var trainer = new SequenceModelService(new SequenceModelRepository(Path.Combine(root, "a")), store, options, TimeProvider.System);
            using var server = new SequenceModelService(new SequenceModelRepository(Path.Combine(root, "b")), store, options, TimeProvider.System);

            var first = await trainer.TrainAsync(ChainShop.Small(4), "test");
            var rejected = await trainer.TrainAsync(ChainShop.Useless(), "test");
            Assert.Equal(SequenceServingDecisions.Rejected, rejected.Gate.Decision);
            // The watcher's poll: the newest stored version (the rejected one) is copied, but the pointer keeps the first serving.
            Assert.Equal(rejected.Version, await Persona.Core.Models.StoredModelFiles.PullNewestAsync(store, server.Repository.Root, Persona.Core.Models.StoredModelFiles.SequencePrefix));
            Assert.True(await server.SyncAsync());
            Assert.True(server.Repository.Refresh());
            Assert.Equal(first.Version, server.Repository.Current!.Version);

            // Promoted on the trainer's node: the other node copies the version it lacks and serves it.
            await trainer.PromoteAsync(rejected.Version, "test");
            Assert.True(await server.SyncAsync());
            Assert.True(server.Repository.Refresh());
            Assert.Equal(rejected.Version, server.Repository.Current!.Version);

            // Rolled back from the other node this time: the trainer's folder follows.
            await server.RollbackAsync("test");
            Assert.Equal(first.Version, server.Repository.Current!.Version);
            Assert.True(await trainer.SyncAsync());
            Assert.True(trainer.Repository.Refresh());
            Assert.Equal(first.Version, trainer.Repository.Current!.Version);
            Assert.False(await trainer.SyncAsync());
        }
        finally
        {
            await store.DisposeAsync();
            await TestPostgres.DropSchemaAsync(schema);
            try { Directory.Delete(root, recursive: true); } catch (DirectoryNotFoundException) { }
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The condition did not come true in time.");
            await Task.Delay(100);
        }
    }
}
