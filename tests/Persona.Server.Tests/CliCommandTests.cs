extern alias cli;

using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Persona.Abstractions;
using Persona.Core.Search;
using Persona.Hosting;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary>The one-shot CLI commands over a data folder: what they say, their exit codes and what they leave on disk.</summary>
public sealed class CliCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "persona-cli-tests", Guid.NewGuid().ToString("n"));

    public CliCommandTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task Profile_WithoutData_InAFolderWithoutTheDemo_SaysSoNamingTheDefaultFolderAndCreatesNothing()
    {
        var cwd = Directory.CreateDirectory(Path.Combine(_root, "fresh-clone")).FullName;

        var (exit, output, error) = await RunProcessAsync(cwd, "profile", "u00758");

        Assert.Equal(2, exit);
        Assert.Contains(Path.Combine(cwd, "data", "demo"), error, StringComparison.Ordinal);
        Assert.Contains("No store", error, StringComparison.Ordinal);
        Assert.DoesNotContain("No events or attributes", output + error, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(cwd));
    }

    [Theory]
    [InlineData("profile", "u1")]
    [InlineData("recommend", "u1")]
    [InlineData("search", "lipstick")]
    [InlineData("train", "--epochs", "1")]
    [InlineData("models", "list")]
    [InlineData("models", "rollback")]
    [InlineData("segments")]
    [InlineData("audience", "--rule", """{"lifecycle":["active"]}""")]
    [InlineData("evaluate", "--task", "segments")]
    [InlineData("state")]
    public async Task ReadCommands_FolderWithoutStore_ExitTwoNamingTheFolderAndCreateNothing(string command, params string[] args)
    {
        var missing = Path.Combine(_root, "typo");
        var empty = Directory.CreateDirectory(Path.Combine(_root, "empty")).FullName;
        foreach (var dir in new[] { missing, empty })
        {
            var (exit, _, error) = await RunAsync([command, "--data", dir, .. args]);

            Assert.True(exit == 2, $"{command} on {dir}: exit {exit}, {error}");
            Assert.Contains(dir, error, StringComparison.Ordinal);
        }
        Assert.False(Directory.Exists(missing));
        Assert.Empty(Directory.EnumerateFileSystemEntries(empty));
    }

    [Fact]
    public async Task Recommend_WithoutUserId_SaysTheUserIdIsMissing()
    {
        var (exit, _, error) = await RunAsync(["recommend", "--data", _root]);

        Assert.NotEqual(0, exit);
        Assert.Contains("user id is missing", error, StringComparison.Ordinal);
        Assert.DoesNotContain("--n must be", error, StringComparison.Ordinal);

        var (outOfRange, _, rangeError) = await RunAsync(["recommend", "--data", _root, "u1", "--n", "0"]);
        Assert.NotEqual(0, outOfRange);
        Assert.Contains("--n must be between 1 and 100", rangeError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_StoreWithoutItems_SaysThereIsNothingToSearchAndExitsTwo()
    {
        var dir = Path.Combine(_root, "no-items");
        await using (var engine = await OpenEngineAsync(dir)) { }

        var (exit, output, error) = await RunAsync(["search", "--data", dir, "lipstick"]);

        Assert.Equal(2, exit);
        Assert.Contains("no items to search", error, StringComparison.Ordinal);
        Assert.Contains(dir, error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public async Task RecommendAndSearch_TrainedSequenceModel_AreServedWithIt()
    {
        var dir = Path.Combine(_root, "shop");
        await SeedAsync(dir);
        var (trained, trainOutput, trainError) = await RunAsync(
            ["train", "--data", dir, "--epochs", "1", "--dim", "8", "--heads", "2", "--layers", "1", "--max-len", "8", "--batch", "8", "--patience", "1"]);
        Assert.True(trained == 0, trainOutput + trainError);
        var version = Assert.Single(Directory.GetDirectories(Path.Combine(dir, "models", "sequence")).Select(Path.GetFileName));

        var (exit, json, _) = await RunAsync(["recommend", "--data", dir, "u1", "--json"]);
        Assert.Equal(0, exit);
        Assert.Equal(version, JsonDocument.Parse(json).RootElement.GetProperty("model_version").GetString());

        var (table, text, _) = await RunAsync(["recommend", "--data", dir, "u1"]);
        Assert.Equal(0, table);
        Assert.Contains($"model {version}", text, StringComparison.Ordinal);
        Assert.DoesNotContain("no model trained", text, StringComparison.Ordinal);

        var (searched, results, _) = await RunAsync(["search", "--data", dir, "rose lipstick", "--user", "u1"]);
        Assert.Equal(0, searched);
        Assert.Contains($"sequence model {version}", results, StringComparison.Ordinal);
    }

    [Fact]
    public async Task State_ReportsWhatTheStartRestored_AndTheNextStartRestoresWhatThisOneWrote()
    {
        var dir = Path.Combine(_root, "shop");
        await SeedAsync(dir);

        var (exit, json, error) = await RunAsync(["state", "--data", dir, "--json"]);
        Assert.True(exit == 0, error);
        var first = JsonDocument.Parse(json).RootElement;
        // The seeding engine's shutdown wrote every shopper's record; it never used the item pairs, so this start builds them.
        Assert.Equal(20, first.GetProperty("restore").GetProperty("shoppers").GetInt32());
        Assert.Equal(0, first.GetProperty("restore").GetProperty("rebuilt").GetInt32());
        Assert.Equal(0, first.GetProperty("restore").GetProperty("tail_events").GetInt64());
        Assert.Equal(0, first.GetProperty("parts").GetProperty("item-pairs").GetInt64());
        Assert.Equal(20, first.GetProperty("memory").GetProperty("shoppers").GetInt32());
        Assert.True(first.GetProperty("resident_mib").GetDouble() > 0);

        // That start's shutdown stored the item pairs: the next one restores them to the log's end.
        var (again, secondJson, _) = await RunAsync(["state", "--data", dir, "--json"]);
        Assert.Equal(0, again);
        Assert.Equal(240, JsonDocument.Parse(secondJson).RootElement.GetProperty("parts").GetProperty("item-pairs").GetInt64());

        var (table, text, _) = await RunAsync(["state", "--data", dir]);
        Assert.Equal(0, table);
        Assert.Contains("Shopper records", text, StringComparison.Ordinal);
        Assert.Contains("restored to sequence 240", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_SecondRun_LoadsTheStoredEncoderInsteadOfTrainingAgain()
    {
        var dir = Path.Combine(_root, "shop");
        await SeedAsync(dir);

        var (first, firstOutput, firstError) = await RunAsync(["search", "--data", dir, "rose lipstick"]);
        Assert.True(first == 0, firstError);
        Assert.Contains("(trained now)", firstOutput, StringComparison.Ordinal);
        var stored = Assert.Single(Directory.GetDirectories(Path.Combine(dir, "models", "search")));
        var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(stored, "manifest.json"))).RootElement;
        Assert.Equal(48, manifest.GetProperty("items").GetInt32());
        var written = File.GetLastWriteTimeUtc(Path.Combine(stored, "encoder.bin"));

        var (second, secondOutput, _) = await RunAsync(["search", "--data", dir, "rose lipstick"]);

        Assert.Equal(0, second);
        Assert.Contains($"text encoder {manifest.GetProperty("version").GetString()} (stored)", secondOutput, StringComparison.Ordinal);
        Assert.Equal(stored, Assert.Single(Directory.GetDirectories(Path.Combine(dir, "models", "search"))));
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(stored, "encoder.bin")));
    }

    [TinyBertFact]
    public async Task Search_WithAPretrainedEncoder_EncodesOnceAndReusesTheStoredVectors()
    {
        var dir = Path.Combine(_root, "shop");
        await SeedAsync(dir);
        var tiny = TextEncoderTrainingTests.TinyBert!;

        var (first, firstOutput, firstError) = await RunAsync(["search", "--data", dir, "rose lipstick", "--encoder", tiny]);
        Assert.True(first == 0, firstError);
        Assert.Contains("checkpoint text encoder", firstOutput, StringComparison.Ordinal);
        var vectors = Assert.Single(Directory.GetFiles(Path.Combine(dir, "models", "search"), "vectors-*.bin"));
        var written = File.GetLastWriteTimeUtc(vectors);

        var (second, json, _) = await RunAsync(["search", "--data", dir, "rose lipstick", "--encoder", tiny, "--json"]);
        Assert.Equal(0, second);
        Assert.Equal("checkpoint", JsonDocument.Parse(json).RootElement.GetProperty("encoder").GetProperty("kind").GetString());
        Assert.Equal(written, File.GetLastWriteTimeUtc(vectors));

        var missing = Path.Combine(_root, "no-such-model.onnx");
        var (bad, _, error) = await RunAsync(["search", "--data", dir, "rose lipstick", "--encoder", missing]);
        Assert.Equal(2, bad);
        Assert.Contains("--encoder", error, StringComparison.Ordinal);
        Assert.Contains(missing, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SearchService_StoredEncoder_IsRestoredUntilTheCatalogGrowsByATenth()
    {
        var dir = Path.Combine(_root, "shop");
        await SeedAsync(dir);
        var options = Microsoft.Extensions.Options.Options.Create(new PersonaSearchOptions { EncoderEpochs = 1, WarmUsers = 0 });
        string version;
        float[] vector;
        await using (var engine = await OpenEngineAsync(dir))
        {
            using var trainer = new SearchService(engine, options);
            await trainer.LoadAsync(CancellationToken.None);
            Assert.Null(trainer.RestoredEncoder);
            Assert.True(trainer.NeedsTraining);
            await trainer.TrainAsync(CancellationToken.None);
            version = trainer.Index.Encoder!.Version;
            vector = trainer.Index.Encoder.Encode("rose lipstick 玫瑰口红");
        }

        await using (var engine = await OpenEngineAsync(dir))
        {
            using var restarted = new SearchService(engine, options);
            await restarted.LoadAsync(CancellationToken.None);
            Assert.Equal(version, restarted.RestoredEncoder?.Version);
            Assert.Equal(version, restarted.Index.Encoder?.Version);
            Assert.Equal(vector, restarted.Index.Encoder!.Encode("rose lipstick 玫瑰口红"));
            Assert.False(restarted.NeedsTraining);
            // Another encoder setting is another encoder: not served.
            using var otherEpochs = new SearchService(engine, Microsoft.Extensions.Options.Options.Create(new PersonaSearchOptions { EncoderEpochs = 2, WarmUsers = 0 }));
            await otherEpochs.LoadAsync(CancellationToken.None);
            Assert.Null(otherEpochs.RestoredEncoder);
            Assert.True(otherEpochs.NeedsTraining);
            Assert.Empty(await engine.UpsertItemsAsync(
                [.. Enumerable.Range(100, 6).Select(i => new Item { Id = $"i{i}", Title = $"new serum {i}", CategoryPath = ["Beauty", "Skin Care"], Price = i })],
                CancellationToken.None));
        }

        await using (var engine = await OpenEngineAsync(dir))
        {
            using var grown = new SearchService(engine, options);
            await grown.LoadAsync(CancellationToken.None);
            Assert.Null(grown.RestoredEncoder);
            Assert.Null(grown.Index.Encoder);
            Assert.True(grown.NeedsTraining);
        }
    }

    /// <summary>
    /// A restart with a stored encoder reuses the catalog's stored vectors instead of encoding every item again, except
    /// an item whose text changed since; every item's vector still equals what the encoder makes of its text now.
    /// </summary>
    [Fact]
    public async Task SearchService_StoredEncoder_ReusesTheVectorsOfUnchangedItems()
    {
        var dir = Path.Combine(_root, "vectors");
        await SeedAsync(dir);
        var options = Microsoft.Extensions.Options.Options.Create(new PersonaSearchOptions { EncoderEpochs = 1, WarmUsers = 0 });
        var repository = SemanticEncoderRepository.ForDataDirectory(dir);
        string version;
        await using (var engine = await OpenEngineAsync(dir))
        {
            using var trainer = new SearchService(engine, options);
            await trainer.LoadAsync(CancellationToken.None);
            Assert.Equal(0, trainer.RestoredVectors);
            await trainer.TrainAsync(CancellationToken.None);
            await trainer.SavingVectors;
            version = trainer.Index.Encoder!.Version;
            Assert.True(File.Exists(repository.VectorsPath(version)));
            Assert.Equal(48, repository.LoadVectors(version, trainer.Index.Encoder.Dimension)!.Items.Count);
            Assert.Empty(await engine.UpsertItemsAsync([Items()[7] with { Title = "rose serum refill 30 ml" }], CancellationToken.None));
        }

        await using (var engine = await OpenEngineAsync(dir))
        {
            using var restarted = new SearchService(engine, options);
            await restarted.LoadAsync(CancellationToken.None);
            var encoder = restarted.Index.Encoder!;
            Assert.Equal(version, encoder.Version);
            Assert.Equal(47, restarted.RestoredVectors);
            var vectors = restarted.Index.EncodedItems(encoder).Items.ToDictionary(v => v.Id);
            Assert.Equal(48, vectors.Count);
            foreach (var item in restarted.Index.Items)
                Assert.Equal(encoder.Encode(SearchFields.FullText(item)), vectors[item.Id].Vector);
            // The changed item's vector is stored again for the next start.
            await restarted.SavingVectors;
            Assert.Equal(SearchFields.TextHash("rose serum refill 30 ml brand2 Beauty Makeup"), repository.LoadVectors(version, encoder.Dimension)!.Items["i7"].TextHash);
        }
        // A damaged file is not read.
        await File.WriteAllBytesAsync(repository.VectorsPath(version), [1, 2, 3]);
        Assert.Null(repository.LoadVectors(version, 64));
    }

    /// <summary>
    /// Above the exact limit the trained vectors are partitioned in the background and stored with their clusters; a
    /// restart serves the stored partition at once (nothing to build) and still holds each item's own vector.
    /// </summary>
    [Fact]
    public async Task SearchService_PartitionedVectors_AreRestoredWithTheirPartition()
    {
        var dir = Path.Combine(_root, "partitioned");
        await SeedAsync(dir);
        var options = Microsoft.Extensions.Options.Options.Create(new PersonaSearchOptions { EncoderEpochs = 1, WarmUsers = 0, SemanticExactLimit = 20 });
        var repository = SemanticEncoderRepository.ForDataDirectory(dir);
        string version;
        await using (var engine = await OpenEngineAsync(dir))
        {
            using var trainer = new SearchService(engine, options);
            await trainer.LoadAsync(CancellationToken.None);
            await trainer.TrainAsync(CancellationToken.None);
            await trainer.Partitioning;
            await trainer.SavingVectors;
            Assert.True(trainer.Index.IsSemanticApproximate);
            version = trainer.Index.Encoder!.Version;
            var stored = repository.LoadVectors(version, trainer.Index.Encoder.Dimension)!;
            Assert.NotNull(stored.Centroids);
            Assert.Equal(48, stored.Items.Count);
            Assert.All(stored.Items.Values, item => Assert.InRange(item.Cluster, 0, stored.Centroids!.Length / trainer.Index.Encoder.Dimension - 1));
        }

        await using (var engine = await OpenEngineAsync(dir))
        {
            using var restarted = new SearchService(engine, options);
            await restarted.LoadAsync(CancellationToken.None);
            Assert.True(restarted.Index.IsSemanticApproximate);
            Assert.False(restarted.Index.PartitionDue);
            Assert.True(restarted.Partitioning.IsCompleted);
            var encoder = restarted.Index.Encoder!;
            Assert.Equal(48, restarted.RestoredVectors);
            var vectors = restarted.Index.EncodedItems(encoder).Items.ToDictionary(v => v.Id);
            foreach (var item in restarted.Index.Items)
                Assert.Equal(encoder.Encode(SearchFields.FullText(item)), vectors[item.Id].Vector);
            var hits = restarted.Index.Search(new SearchRequest { Query = "serum", Limit = 5 });
            Assert.NotEmpty(hits.Hits);
        }
    }

    [Fact]
    public async Task Server_TrainedEncoder_IsStoredInTheDataFolder()
    {
        await using var app = new PersonaAppFactory();
        app.Settings["Persona:Search:EncoderEpochs"] = "1";
        using var client = app.CreateClient();
        Assert.Empty(await app.Engine.UpsertItemsAsync(Items(), CancellationToken.None));
        var search = app.Services.GetService(typeof(SearchService)) as SearchService;
        Assert.NotNull(search);
        await search.TrainAsync(CancellationToken.None);

        // The start-up training may run beside this one; what counts is that the encoder in service is on disk.
        var root = Path.Combine(app.DataDirectory, "models", "search");
        string[] Stored() => Directory.Exists(root) ? [.. Directory.GetDirectories(root).Select(d => Path.GetFileName(d)!)] : [];
        for (var wait = Stopwatch.StartNew(); !Stored().Contains(search.Index.Encoder?.Version) && wait.Elapsed < TimeSpan.FromSeconds(30);)
            await Task.Delay(100);
        Assert.Contains(search.Index.Encoder!.Version, Stored());
    }

    [Fact]
    public async Task StoreFlags_ImportAndReadOnPostgres_AndHoldForThatInvocationOnly()
    {
        var data = Path.Combine(Path.GetTempPath(), "persona-cli-store", Guid.NewGuid().ToString("n"));
        var schema = Persona.Storage.Postgres.Testing.TestPostgres.NewSchema();
        string[] store = ["--store", "postgres", "--store-connection", Persona.Storage.Postgres.Testing.TestPostgres.ConnectionString, "--store-schema", schema];
        try
        {
            Directory.CreateDirectory(data);
            var csv = Path.Combine(data, "history.csv");
            await File.WriteAllLinesAsync(csv, Enumerable.Range(0, 40).Select(i => $"7,{100 + i % 9},{3 + i % 2},{(i % 10 == 9 ? "buy" : "pv")},{1511700000 + i * 60}"));

            var import = await RunAsync(["import", "--data", data, "--events", csv, "--format", "taobao", .. store]);
            Assert.True(import.Exit == 0, import.Error);
            var profile = await RunAsync(["profile", "--data", data, "7", "--json", .. store]);
            Assert.True(profile.Exit == 0, profile.Error);
            Assert.False(File.Exists(Path.Combine(data, SqliteStoreOptions.DefaultFileName)), "the import wrote a SQLite file beside PostgreSQL");
            await using (var postgres = new Persona.Storage.Postgres.PostgresPersonaStore(Persona.Storage.Postgres.Testing.TestPostgres.Options(schema)))
            {
                await postgres.InitializeAsync();
                Assert.Equal(40, await postgres.CountEventsAsync());
                Assert.NotNull(await postgres.GetProfileAsync("7"));
            }

            // Without the flags the same folder has no store (they held for their invocation only).
            var plain = await RunAsync(["profile", "--data", data, "7"]);
            Assert.Equal(2, plain.Exit);
            Assert.Contains("holds no Persona store", plain.Error);
            var unknown = await RunAsync(["profile", "--data", data, "7", "--store", "mysql"]);
            Assert.Equal(2, unknown.Exit);
            Assert.Contains("Persona:Store: Provider must be 'sqlite' or 'postgres', not 'mysql'", unknown.Error);
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (DirectoryNotFoundException) { }
            await Persona.Storage.Postgres.Testing.TestPostgres.DropSchemaAsync(schema);
        }
    }

    [Theory]
    [InlineData("--Persona:RabbitMq:Uri=http://broker", "Persona:RabbitMq:Uri must be an amqp://")]
    [InlineData("--Persona:Store:Provider=postgres", "Persona:Store: ConnectionString is required")]
    [InlineData("--Persona:Store:ConnectionString=Host=127.0.0.1;Port=1;Username=x;Timeout=2", "Cannot reach the store, PostgreSQL 127.0.0.1:1")]
    public async Task Serve_BadStoreOrQueueSettings_ExitsTwoNamingThem(string setting, string message)
    {
        var data = Path.Combine(Path.GetTempPath(), "persona-cli-serve", Guid.NewGuid().ToString("n"));
        try
        {
            string[] store = setting.Contains("ConnectionString", StringComparison.Ordinal) ? ["--Persona:Store:Provider=postgres"] : [];
            var (exit, _, error) = await RunProcessAsync(Path.GetTempPath(), ["serve", "--data", data, "--open", "--urls", "http://127.0.0.1:0", .. store, setting]);

            Assert.Equal(2, exit);
            Assert.Contains(message, error);
            Assert.DoesNotContain("   at ", error);
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (DirectoryNotFoundException) { }
        }
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await cli::Persona.Cli.PersonaCli.BuildRootCommand().Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>Runs the built <c>persona</c> in <paramref name="workingDirectory"/>, as a user at a terminal would.</summary>
    private static async Task<(int Exit, string Output, string Error)> RunProcessAsync(string workingDirectory, params string[] args)
    {
        var cli = typeof(cli::Persona.Cli.PersonaCli).Assembly.Location;
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(cli);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    private static async Task<PersonaEngine> OpenEngineAsync(string dir)
    {
        var engine = new PersonaEngine(new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = dir }),
            Microsoft.Extensions.Options.Options.Create(new PersonaOptions { DataDirectory = dir }), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        await engine.StartAsync(progress: null, CancellationToken.None);
        return engine;
    }

    private static readonly string[] Words = ["rose", "vitamin", "matte", "hydrating", "argan", "charcoal", "silk", "citrus"];
    private static readonly string[] Kinds = ["face cream", "lipstick", "shampoo", "serum", "nail polish", "body lotion"];

    private static List<Item> Items() =>
        [.. Enumerable.Range(0, 48).Select(i => new Item
        {
            Id = $"i{i}",
            Title = $"{Words[i % Words.Length]} {Kinds[i % Kinds.Length]} {50 + i} ml",
            CategoryPath = i % 2 == 0 ? ["Beauty", "Skin Care"] : ["Beauty", "Makeup"],
            Brand = $"brand{i % 5}",
            Price = 10 + i,
        })];

    /// <summary>A store of 48 items and 20 users with a dozen views and purchases each.</summary>
    private static async Task SeedAsync(string dir)
    {
        await using var engine = await OpenEngineAsync(dir);
        var items = Items();
        Assert.Empty(await engine.UpsertItemsAsync(items, CancellationToken.None));
        var start = new DateTimeOffset(2026, 9, 1, 0, 0, 0, TimeSpan.Zero);
        var events = new List<Event>();
        for (var u = 0; u < 20; u++)
            for (var k = 0; k < 12; k++)
                events.Add(new Event
                {
                    Id = $"seed-{u}-{k}", UserId = $"u{u}", Type = k % 4 == 3 ? EventType.Purchase : EventType.View,
                    ItemId = items[(u * 7 + k * 5) % items.Count].Id, Timestamp = start.AddDays(k * 3).AddHours(u),
                });
        Assert.Empty((await engine.IngestEventsAsync(events, CancellationToken.None)).Errors);
        await engine.FlushProfilesAsync(CancellationToken.None);
    }
}
