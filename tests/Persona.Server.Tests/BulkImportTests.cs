extern alias cli;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Import;
using Persona.Core.Ingestion;
using Persona.Core.Profiles;
using Persona.Hosting;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary>The bulk path of history imports: same result as ingestion, all-or-nothing checks, crash safety.</summary>
public sealed class BulkImportTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private static async Task<PersonaEngine> OpenAsync(string dir)
    {
        var options = new PersonaOptions { DataDirectory = dir };
        // A low burst limit so random histories get burst flags too.
        options.Ingestion.BurstEventsPerMinute = 3;
        var engine = new PersonaEngine(new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = dir }),
            Options.Create(options), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        await engine.StartAsync(null, CancellationToken.None);
        return engine;
    }

    /// <summary>A random history with explicit and content ids, repeated rows (retries) and bursts.</summary>
    private static List<Event> History(int seed)
    {
        var random = new Random(seed);
        var events = new List<Event>();
        var count = random.Next(1, 400);
        for (var i = 0; i < count; i++)
        {
            if (events.Count > 0 && random.Next(8) == 0)
            {
                events.Add(events[random.Next(events.Count)]);
                continue;
            }
            var type = random.Next(10) switch { 0 => EventType.Purchase, 1 => EventType.AddToCart, 2 => EventType.Search, 3 => EventType.Rate, _ => EventType.View };
            events.Add(new Event
            {
                Id = random.Next(3) == 0 ? $"e-{seed}-{i}" : null,
                UserId = $" u{random.Next(6)}",
                Type = type,
                ItemId = type == EventType.Search && random.Next(2) == 0 ? null : $"i{random.Next(12)}",
                Query = type == EventType.Search ? "red  shoes" : null,
                Value = type == EventType.Rate ? random.Next(1, 6) : type == EventType.Purchase ? random.Next(1, 100) : null,
                Timestamp = Start.AddSeconds(random.Next(0, 600)),
                SessionId = random.Next(2) == 0 ? "s1" : null,
            });
        }
        return events;
    }

    private static async IAsyncEnumerable<StoredEvent[]> Chunks(PersonaEngine engine, IReadOnlyList<Event> events, int size)
    {
        for (var i = 0; i < events.Count; i += size)
        {
            await Task.Yield();
            yield return engine.NormalizeValidated([.. events.Skip(i).Take(size)], DateTimeOffset.UtcNow);
        }
    }

    private static async Task<List<string>> StoredAsync(PersonaEngine engine)
    {
        var rows = new List<string>();
        await foreach (var e in engine.Store.ReadEventsAsync(0))
            rows.Add($"{e.Sequence}|{e.Id}|{e.UserId}|{e.Type}|{e.ItemId}|{e.Query}|{e.Value}|{e.Timestamp:O}|{e.SessionId}|{e.ExcludedReason}");
        return rows;
    }

    private static string Comparable(Profile? profile)
    {
        if (profile is null) return "null";
        var node = JsonNode.Parse(JsonSerializer.Serialize(profile, PersonaJson.Options))!.AsObject();
        node.Remove("updated_at");
        return node.ToJsonString();
    }

    /// <summary>
    /// For random histories (property style, 25 seeds): the bulk path, in chunks of any size and run twice (the second
    /// time after only a prefix was imported, as after a crash), stores the same events with the same ids, sequence
    /// numbers and burst flags as ingestion in API-sized batches, counts the same duplicates and builds the same profiles.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task AppendBulk_RandomHistory_StoresAndProfilesWhatIngestionDoes(int seed)
    {
        var history = History(seed);
        var root = Path.Combine(Path.GetTempPath(), "persona-bulk", Guid.NewGuid().ToString("n"));
        try
        {
            await using var normal = await OpenAsync(Path.Combine(root, "normal"));
            await using var bulk = await OpenAsync(Path.Combine(root, "bulk"));
            Assert.Empty(normal.ValidateEvents(history));
            var duplicates = 0L;
            for (var i = 0; i < history.Count; i += 7)
            {
                var outcome = await normal.IngestEventsAsync([.. history.Skip(i).Take(7)], CancellationToken.None);
                Assert.True(outcome.IsValid);
                duplicates += outcome.Duplicates;
            }

            var random = new Random(seed);
            var once = await bulk.AppendBulkAsync(Chunks(bulk, history, random.Next(1, 200)), null, CancellationToken.None);
            Assert.Equal(await StoredAsync(normal), await StoredAsync(bulk));
            Assert.Equal((history.Count, history.Count - duplicates, duplicates), (once.Events, once.Stored, once.Duplicates));
            Assert.Equal(normal.ProfileUsers.Order(), bulk.ProfileUsers.Order());
            foreach (var user in normal.ProfileUsers.Order())
                Assert.Equal(Comparable(normal.GetProfile(user).Profile), Comparable(bulk.GetProfile(user).Profile));

            // Interrupted after a prefix, then run again: the same events and sequence numbers. Burst flags may differ, as
            // the re-sent rows count toward bursts again (as retries do on the API), so profiles are compared with a rebuild.
            await using var rerun = await OpenAsync(Path.Combine(root, "rerun"));
            var prefix = history.Take(random.Next(history.Count + 1)).ToList();
            var first = await rerun.AppendBulkAsync(Chunks(rerun, prefix, random.Next(1, 50)), null, CancellationToken.None);
            var second = await rerun.AppendBulkAsync(Chunks(rerun, history, random.Next(1, 200)), null, CancellationToken.None);
            static IEnumerable<string> WithoutFlags(List<string> rows) => rows.Select(r => r[..r.LastIndexOf('|')]);
            var stored = await StoredAsync(rerun);
            Assert.Equal(WithoutFlags(await StoredAsync(normal)), WithoutFlags(stored));
            Assert.Equal(history.Count - duplicates - first.Stored, second.Stored);
            Assert.Equal(duplicates + first.Stored, second.Duplicates);
            var events = new List<StoredEvent>();
            await foreach (var e in rerun.Store.ReadEventsAsync(0)) events.Add(e);
            var book = new ProfileBook(new ProfileOptions(), CatalogSnapshot.Create([]));
            book.Apply(events);
            foreach (var user in normal.ProfileUsers)
                Assert.Equal(Comparable(book.Build(user, rerun.AsOf)), Comparable(rerun.GetProfile(user).Profile));

            // A third run stores nothing: every row is a duplicate.
            var third = await rerun.AppendBulkAsync(Chunks(rerun, history, 64), null, CancellationToken.None);
            Assert.Equal((0L, (long)history.Count), (third.Stored, third.Duplicates));
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 25)];

    /// <summary>
    /// Item imports write more than one API batch per transaction and catalog swap: the errors of a large batch carry
    /// indexes from its start and nothing is written; a valid one is stored and in the catalog at once.
    /// </summary>
    [Fact]
    public async Task UpsertItemsBulk_MoreThanOneApiBatch_ValidatesWithIndexesAndStoresAll()
    {
        var dir = Path.Combine(Path.GetTempPath(), "persona-bulk", Guid.NewGuid().ToString("n"));
        try
        {
            await using var engine = await OpenAsync(dir);
            var items = Enumerable.Range(0, 2_500).Select(i => new Item { Id = $"i{i}", Title = $"item {i}", CategoryPath = ["c" + (i % 7)] }).ToList();
            var bad = items.ToList();
            bad[1_700] = bad[1_700] with { Id = " " };
            var errors = await engine.UpsertItemsBulkAsync(bad, CancellationToken.None);
            Assert.Equal(1_700, Assert.Single(errors).Index);
            Assert.Equal(0, await engine.Store.CountItemsAsync());

            Assert.Empty(await engine.UpsertItemsBulkAsync(items, CancellationToken.None));
            Assert.Equal(2_500, await engine.Store.CountItemsAsync());
            Assert.Equal(2_500, engine.Catalog.Count);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>A file with bad rows writes nothing, and each problem names the file, the line and the field.</summary>
    [Fact]
    public async Task ImportEventHistory_TaobaoFileWithBadRows_NamesFileLineFieldAndWritesNothing()
    {
        var dir = Path.Combine(Path.GetTempPath(), "persona-bulk", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "behavior.csv");
        await File.WriteAllTextAsync(file, "1,10,100,pv,1511544070\n1,11,100,like,1511544071\n2,12,101,buy,yesterday\n2,12,101,buy,1511544072\n");
        try
        {
            await using var engine = await OpenAsync(Path.Combine(dir, "data"));
            var reader = new TaobaoUserBehaviorReader(file);
            var error = await Assert.ThrowsAsync<ImportException>(() => FileImporter.ImportEventHistoryAsync(engine, reader.ReadEventsAsync, null, CancellationToken.None));
            Assert.Contains(error.Problems, p => p.StartsWith("behavior.csv line 2, field `behavior`", StringComparison.Ordinal));
            Assert.Contains(error.Problems, p => p.StartsWith("behavior.csv line 3, field `timestamp`", StringComparison.Ordinal));
            Assert.Equal(0, await engine.Store.CountEventsAsync());
            Assert.Empty(engine.ProfileUsers);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// SIGKILL of a real <c>persona import --format taobao</c> while it writes: the store holds whole committed chunks (a
    /// prefix of the file's distinct rows); running the import again stores each row once, and the profiles it saved
    /// equal those rebuilt from the stored events.
    /// </summary>
    [Fact]
    public async Task ImportCommand_KilledMidwayThenRerun_StoresEachRowOnceAndProfilesEqualARebuild()
    {
        var root = Path.Combine(Path.GetTempPath(), "persona-bulk", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(root);
        var file = Path.Combine(root, "UserBehavior.csv");
        var data = Path.Combine(root, "data");
        var rows = new List<string>();
        var random = new Random(11);
        for (var i = 0; i < 700_000; i++)
            rows.Add(i > 0 && i % 50 == 0 ? rows[random.Next(i)]
                : $"{random.Next(1, 3000)},{random.Next(1, 20000)},{random.Next(1, 300)},{(random.Next(20) switch { 0 => "buy", 1 => "cart", 2 => "fav", _ => "pv" })},{1511539200 + random.Next(0, 9 * 86400)}");
        await File.WriteAllLinesAsync(file, rows);
        static string Id(string row)
        {
            var f = row.Split(',');
            return $"tb-{f[0]}-{f[1]}-{f[3]}-{f[4]}";
        }
        var distinct = rows.Select(Id).Distinct().ToList();
        try
        {
            var (killed, _) = await RunImportAsync(data, file, killAfterProgress: true);
            await using (var store = new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = data }))
            {
                await store.InitializeAsync();
                var stored = new List<string>();
                await foreach (var e in store.ReadEventsAsync()) stored.Add(e.Id);
                Assert.True(killed, "The import finished before it could be killed.");
                // Whole chunks only: the stored ids are exactly the distinct ids of the first k chunks of rows.
                Assert.True(stored.Count > 0, "No chunk was committed before the kill.");
                var chunks = Enumerable.Range(1, rows.Count / PersonaEngine.BulkChunkEvents)
                    .Select(k => rows.Take(k * PersonaEngine.BulkChunkEvents).Select(Id).Distinct().ToList());
                Assert.Contains(chunks, prefix => prefix.SequenceEqual(stored));
            }

            var (_, output) = await RunImportAsync(data, file, killAfterProgress: false);
            await using var engine = await OpenAsync(data);
            var all = new List<StoredEvent>();
            await foreach (var e in engine.Store.ReadEventsAsync(0)) all.Add(e);
            Assert.Equal(distinct.Count, all.Count);
            Assert.Equal(distinct.Order(StringComparer.Ordinal), all.Select(e => e.Id).Order(StringComparer.Ordinal));

            var items = new List<Item>();
            await foreach (var item in engine.Store.ReadItemsAsync()) items.Add(item);
            var book = new ProfileBook(new ProfileOptions(), CatalogSnapshot.Create(items));
            book.Apply(all);
            foreach (var user in all.Select(e => e.UserId).Distinct().Take(200))
            {
                var saved = await engine.Store.GetProfileAsync(user);
                Assert.True(saved is not null, output);
                Assert.Equal(Comparable(book.Build(user, engine.AsOf)), Comparable(saved));
            }
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// SIGKILL of a real import while it writes the state checkpoint (after its first chunk of shopper records, before
    /// the checkpoint row and the state parts): the next start trusts none of it and rebuilds, so every event is stored
    /// once and the profiles equal a rebuild; that start's own checkpoint is then whole, and a start from it answers as
    /// the rebuild did.
    /// </summary>
    [Fact]
    public async Task ImportCommand_KilledWhileCheckpointing_RestartEqualsARebuild()
    {
        var root = Path.Combine(Path.GetTempPath(), "persona-bulk", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(root);
        var file = Path.Combine(root, "UserBehavior.csv");
        var data = Path.Combine(root, "data");
        var random = new Random(12);
        // 20,000 shoppers: ten checkpoint chunks; the import holds at the first chunk's progress line (see RunImportAsync),
        // so the kill lands before the checkpoint row however fast the machine is.
        var rows = Enumerable.Range(0, 60_000).Select(i =>
            $"{1 + i % 20_000},{random.Next(1, 4000)},{random.Next(1, 200)},{(random.Next(20) switch { 0 => "buy", 1 => "cart", 2 => "fav", _ => "pv" })},{1511539200 + i * 10}").ToList();
        await File.WriteAllLinesAsync(file, rows);
        try
        {
            var (killed, output) = await RunImportAsync(data, file, PersonaEngine.WritingCheckpoint);
            Assert.True(killed, "The import finished before it could be killed:\n" + output);

            List<string> answers;
            var sampled = Enumerable.Range(0, 60).Select(i => (1 + i * 331).ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            await using (var engine = await PartsStack.OpenAsync(data))
            {
                Assert.True(engine.Engine.LastRestore!.CheckpointSequence == 0, "The kill landed after the checkpoint row:\n" + output);
                Assert.Equal(0, engine.Engine.LastPartRestores["recommendations"]);
                var all = new List<StoredEvent>();
                await foreach (var e in engine.Engine.Store.ReadEventsAsync(0)) all.Add(e);
                Assert.Equal(rows.Count, all.Count);
                Assert.Equal(all.Count, all.Select(e => e.Id).Distinct().Count());
                var items = new List<Item>();
                await foreach (var item in engine.Engine.Store.ReadItemsAsync()) items.Add(item);
                var book = new ProfileBook(new ProfileOptions(), CatalogSnapshot.Create(items));
                book.Apply(all);
                foreach (var user in sampled)
                    Assert.Equal(Comparable(book.Build(user, engine.Engine.AsOf)), Comparable(engine.Engine.GetProfile(user, enrich: false).Profile));
                answers = Answers(engine, sampled);
            }
            await using (var engine = await PartsStack.OpenAsync(data))
            {
                Assert.Equal(rows.Count, engine.Engine.LastRestore!.CheckpointSequence);
                Assert.Equal(0, engine.Engine.LastRestore.TailEvents);
                Assert.Equal(rows.Count, engine.Engine.LastPartRestores["recommendations"]);
                Assert.Equal(rows.Count, engine.Engine.LastPartRestores["search"]);
                Assert.Equal(answers, Answers(engine, sampled));
            }
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    private static List<string> Answers(PartsStack stack, List<string> users) =>
        [.. users.Select(user => string.Join(", ", stack.Recommendations.Recommend(user, new Core.Ranking.RecommendationQuery { Count = 10 }).Items.Select(r => $"{r.ItemId}={r.Score:R}"))),
         string.Join(", ", stack.Recommendations.Popularity.Top(null, 20).Select(p => $"{p.Id}={p.Score:R}")),
         string.Join(", ", Enumerable.Range(1, 40).Select(i => stack.Search.ItemPairs.Seen(i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToString("R")))];

    /// <summary>Runs the built CLI; with <paramref name="killAfterProgress"/> SIGKILLs it at its first events-written progress line.</summary>
    private static Task<(bool Killed, string Output)> RunImportAsync(string data, string file, bool killAfterProgress) =>
        RunImportAsync(data, file, killAfterProgress ? FileImporter.WritingEvents : null);

    /// <summary>Runs the built CLI; SIGKILLs it at its first progress line of <paramref name="killAtStage"/>, when given.</summary>
    private static async Task<(bool Killed, string Output)> RunImportAsync(string data, string file, string? killAtStage)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(cli::Persona.Cli.PersonaCli).Assembly.Location);
        foreach (var a in new[] { "import", "--data", data, "--events", file, "--format", "taobao" }) start.ArgumentList.Add(a);
        // The checkpoint of 20,000 shoppers takes under a second: the import waits at its first progress line for the kill.
        if (killAtStage == PersonaEngine.WritingCheckpoint) start.Environment["PERSONA_TEST_HOLD_AT_STAGE"] = killAtStage;
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var killed = false;
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output) output.AppendLine(e.Data);
            if (killAtStage is not null && e.Data is { } line && line.StartsWith(killAtStage + ":", StringComparison.Ordinal) && !process.HasExited)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                    killed = true;
                }
                catch (InvalidOperationException) { }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        string text;
        lock (output) text = output.ToString();
        if (!killed) Assert.True(process.ExitCode == 0, text);
        return (killed, text);
    }
}
