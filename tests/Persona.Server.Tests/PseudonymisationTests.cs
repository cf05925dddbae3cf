using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Persona.Hosting;
using Persona.Hosting.Privacy;

namespace Persona.Server.Tests;

/// <summary>
/// Pseudonymised user ids end to end: the real pipeline over a real SQLite file, restarted over the same folder with
/// the same key, another key and none.
/// </summary>
public sealed class PseudonymisationTests : IDisposable
{
    // Distinctive raw ids, so a byte scan of the data folder cannot match by accident.
    private const string Alice = "alice.raw-4711@example.com";
    private const string Bob = "bob-raw-0815";
    private static readonly string[] RawIds = [Alice, Bob];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "persona-tests", "pseudonym-" + Guid.NewGuid().ToString("n"));

    private string DataDirectory => Path.Combine(_root, "data");

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private string NewKeyFile(string name, int bytes = 32)
    {
        Directory.CreateDirectory(_root);
        var path = Path.Combine(_root, name);
        File.WriteAllText(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes)) + "\n");
        return path;
    }

    private PersonaAppFactory App(string? keyFile)
    {
        var app = new PersonaAppFactory();
        app.Settings["Persona:DataDirectory"] = DataDirectory;
        if (keyFile is not null) app.Settings[PersonaPrivacyOptions.KeyFileSetting] = keyFile;
        return app;
    }

    private static string U(string id) => Uri.EscapeDataString(id);

    private static async Task SeedAsync(HttpClient client)
    {
        string[] titles = ["matte lipstick", "velvet lipstick", "nail polish", "face cream"];
        for (var i = 0; i < titles.Length; i++)
        {
            var put = await client.PutAsync($"/v1/items/ps-i{i}", HttpJson.Body(
                $"{{\"title\":\"{titles[i]}\",\"brand\":\"B{i % 2}\",\"price\":{10 + 10 * i},\"category_path\":\"Makeup > Lips > Lipstick\"}}"));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }
        foreach (var user in RawIds)
        {
            var put = await client.PutAsync($"/v1/users/{U(user)}", HttpJson.Body("""{"region":"east","consent":{"personalization":true,"marketing":true}}"""));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }
        // Some events carry an id, some get a content id (derived after the user id is protected), one has a session.
        var events = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            events.Add($"{{\"id\":\"ps-a{i}\",\"user_id\":\"{Alice}\",\"type\":\"purchase\",\"item_id\":\"ps-i{i % 2}\",\"value\":20,\"timestamp\":\"2026-10-0{i + 1}T10:00:00Z\",\"session_id\":\"s-{i}\"}}");
            events.Add($"{{\"user_id\":\"{Bob}\",\"type\":\"view\",\"item_id\":\"ps-i{2 + i % 2}\",\"timestamp\":\"2026-10-0{i + 1}T11:00:00Z\"}}");
        }
        events.Add($"{{\"user_id\":\"{Alice}\",\"type\":\"search\",\"query\":\"lipstick\",\"timestamp\":\"2026-10-05T09:00:00Z\"}}");
        var posted = await client.PostAsync("/v1/events", HttpJson.Body($"[{string.Join(",", events)}]"));
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());
        Assert.Equal(events.Count, (await posted.ReadJsonAsync()).GetProperty("stored").GetInt32());
    }

    [Fact]
    public async Task Pseudonymised_IngestReadEraseRestart_NoRawIdStoredAndRawIdsStillWork()
    {
        var key = NewKeyFile("pseudonym.key");
        string alicePseudonym;
        string bobPseudonym;
        await using (var app = App(key))
        {
            using var client = app.CreateClient();
            await SeedAsync(client);
            alicePseudonym = app.Engine.UserIds.Protect(Alice);
            bobPseudonym = app.Engine.UserIds.Protect(Bob);
            Assert.True(UserIdProtector.IsPseudonym(alicePseudonym));

            var profile = await (await client.GetAsync($"/v1/users/{U(Alice)}/profile")).ReadJsonAsync();
            Assert.Equal(Alice, profile.GetProperty("user_id").GetString());
            Assert.Equal(5, profile.GetProperty("event_count").GetInt32());
            // A pseudonym listed by the API (user list, audience export) reads the same profile.
            var byPseudonym = await client.GetAsync($"/v1/users/{alicePseudonym}/profile");
            Assert.Equal(HttpStatusCode.OK, byPseudonym.StatusCode);
            Assert.Equal(5, (await byPseudonym.ReadJsonAsync()).GetProperty("event_count").GetInt32());

            var user = await (await client.GetAsync($"/v1/users/{U(Alice)}")).ReadJsonAsync();
            Assert.Equal(Alice, user.GetProperty("id").GetString());
            Assert.Equal("east", user.GetProperty("region").GetString());

            var recommendations = await (await client.GetAsync($"/v1/users/{U(Alice)}/recommendations?n=3")).ReadJsonAsync();
            Assert.True(recommendations.GetProperty("personalized").GetBoolean());
            Assert.Equal(Alice, recommendations.GetProperty("user_id").GetString());

            var search = await (await client.GetAsync($"/v1/search?q=lipstick&user={U(Alice)}")).ReadJsonAsync();
            Assert.True(search.GetProperty("personalized").GetBoolean());
            var anonymous = await (await client.GetAsync("/v1/search?q=lipstick&user=never-seen")).ReadJsonAsync();
            Assert.False(anonymous.GetProperty("personalized").GetBoolean());

            var timeline = await (await client.GetAsync($"/v1/users/{U(Alice)}/events")).ReadJsonAsync();
            Assert.Equal(5, timeline.GetProperty("total").GetInt32());
            Assert.All(timeline.GetProperty("events").EnumerateArray(), e => Assert.Equal(Alice, e.GetProperty("event").GetProperty("user_id").GetString()));

            var listed = await client.GetStringAsync("/v1/users?limit=200");
            Assert.Contains(alicePseudonym, listed, StringComparison.Ordinal);
            Assert.DoesNotContain(Alice, listed, StringComparison.Ordinal);
            Assert.Contains(alicePseudonym, await client.GetStringAsync($"/v1/users?q={U(Alice)}"), StringComparison.Ordinal);

            await app.Engine.FlushProfilesAsync(CancellationToken.None);
            var audience = await (await client.PostAsync("/v1/audiences", HttpJson.Body("""{"min_count":1}"""))).ReadJsonAsync();
            var export = await client.GetStringAsync($"/v1/audiences/{audience.GetProperty("id").GetString()}/export?format=csv");
            Assert.Contains(alicePseudonym, export, StringComparison.Ordinal);
            Assert.DoesNotContain(Alice, export, StringComparison.Ordinal);

            // A raw id shaped like a pseudonym would be ambiguous for readers: refused, nothing stored.
            var shaped = await client.PostAsync("/v1/events", HttpJson.Body($$"""[{"user_id":"{{app.Engine.UserIds.Protect("x")}}","type":"view","item_id":"ps-i0"}]"""));
            Assert.Equal(HttpStatusCode.BadRequest, shaped.StatusCode);
            Assert.True((await shaped.ReadJsonAsync()).GetProperty("errors").TryGetProperty("events[0].user_id", out _));

            var erased = await client.DeleteAsync($"/v1/users/{U(Bob)}");
            Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
            var receipt = await erased.ReadJsonAsync();
            Assert.Equal(Bob, receipt.GetProperty("user_id").GetString());
            Assert.Equal(4, receipt.GetProperty("events").GetInt32());
            Assert.True(receipt.GetProperty("user_record").GetBoolean());
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/v1/users/{U(Bob)}/profile")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/v1/users/{U(Bob)}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync($"/v1/users/{U(Bob)}")).StatusCode);
            Assert.Empty(await app.Engine.Store.GetUserEventsAsync(bobPseudonym));

            var audit = await client.GetStringAsync("/v1/admin/audit?limit=100");
            Assert.Contains(bobPseudonym, audit, StringComparison.Ordinal);
            Assert.DoesNotContain(Bob, audit, StringComparison.Ordinal);
        }

        var found = ScanDataFolder();
        Assert.Contains(found, f => f.Where == "events.user_id" && f.Value == alicePseudonym);
        // After the erasure only the audit log names Bob, by pseudonym.
        Assert.All(found.Where(f => f.Value.Contains(bobPseudonym, StringComparison.Ordinal)), f => Assert.StartsWith("audit_log.", f.Where, StringComparison.Ordinal));

        await using (var again = App(key))
        {
            using var client = again.CreateClient();
            var profile = await client.GetAsync($"/v1/users/{U(Alice)}/profile");
            Assert.Equal(HttpStatusCode.OK, profile.StatusCode);
            Assert.Equal(5, (await profile.ReadJsonAsync()).GetProperty("event_count").GetInt32());
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/v1/users/{U(Bob)}/profile")).StatusCode);
            var more = await client.PostAsync("/v1/events", HttpJson.Body($$"""[{"id":"ps-a9","user_id":"{{Alice}}","type":"view","item_id":"ps-i3","timestamp":"2026-10-09T10:00:00Z"}]"""));
            Assert.Equal(HttpStatusCode.OK, more.StatusCode);
            Assert.Equal(6, (await (await client.GetAsync($"/v1/users/{U(Alice)}/profile")).ReadJsonAsync()).GetProperty("event_count").GetInt32());
        }

        var otherKey = Refusal(NewKeyFile("other.key"));
        Assert.Contains("not the key this data folder was pseudonymised with", otherKey.Message, StringComparison.Ordinal);
        Assert.Contains(PersonaPrivacyOptions.KeyFileSetting, otherKey.Message, StringComparison.Ordinal);

        var noKey = Refusal(null);
        Assert.Contains("no pseudonymisation key is configured", noKey.Message, StringComparison.Ordinal);
        Assert.Contains(PersonaPrivacyOptions.KeyFileSetting, noKey.Message, StringComparison.Ordinal);

        // Refused starts wrote nothing: the same key still finds Alice's six events and no raw id appeared.
        ScanDataFolder();
    }

    [Fact]
    public async Task RawStore_KeyConfiguredLater_IsRefusedWithHowToMigrate()
    {
        await using (var raw = App(keyFile: null))
        {
            using var client = raw.CreateClient();
            var posted = await client.PostAsync("/v1/events", HttpJson.Body($$"""[{"user_id":"{{Alice}}","type":"view","item_id":"x1"}]"""));
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        }
        // The scan that finds no raw id in a pseudonymised folder does find one here.
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => ScanDataFolder());

        var refused = Refusal(NewKeyFile("late.key"));

        Assert.Contains("already holds raw user ids", refused.Message, StringComparison.Ordinal);
        Assert.Contains("new, empty data folder", refused.Message, StringComparison.Ordinal);
        await using var reopened = App(keyFile: null);
        using var again = reopened.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync($"/v1/users/{U(Alice)}/profile")).StatusCode);
    }

    [Fact]
    public void ShortKeyFile_FailsOptionsValidation_NamingTheSetting()
    {
        var app = App(NewKeyFile("short.key", bytes: 16));

        var error = Assert.IsType<OptionsValidationException>(Innermost<OptionsValidationException>(Record.Exception(() => app.CreateClient())));

        var failure = Assert.Single(error.Failures, f => f.Contains(PersonaPrivacyOptions.KeyFileSetting, StringComparison.Ordinal));
        Assert.Contains("16-byte", failure, StringComparison.Ordinal);
        DisposeQuietly(app);
    }

    [Theory]
    [InlineData("missing", "cannot read")]
    [InlineData("short", "needs at least 32")]
    [InlineData("both", "give the key one way only")]
    [InlineData("not-base64", "is not base64")]
    public void PrivacyOptions_BadKey_ProblemNamesTheSetting(string case_, string expected)
    {
        var options = new PersonaOptions();
        switch (case_)
        {
            case "missing": options.Privacy.PseudonymKeyFile = Path.Combine(_root, "nope.key"); break;
            case "short": options.Privacy.PseudonymKey = Convert.ToBase64String(new byte[31]); break;
            case "both": options.Privacy.PseudonymKeyFile = NewKeyFile("both.key"); options.Privacy.PseudonymKey = Convert.ToBase64String(new byte[32]); break;
            default: options.Privacy.PseudonymKey = "*** not base64 ***"; break;
        }

        var result = new PersonaOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.Contains("Persona:Privacy:PseudonymKey", failure, StringComparison.Ordinal);
        Assert.Contains(expected, failure, StringComparison.Ordinal);
        Assert.Throws<PseudonymisationException>(() => UserIdProtector.Create(options.Privacy));
    }

    [Fact]
    public void PrivacyOptions_RawKeyFileOf32Bytes_IsAccepted()
    {
        Directory.CreateDirectory(_root);
        var path = Path.Combine(_root, "raw.key");
        // Not base64 text (0xFF bytes), so the file is the key itself.
        File.WriteAllBytes(path, Enumerable.Repeat((byte)0xFF, 32).ToArray());

        var ids = UserIdProtector.Create(new PersonaPrivacyOptions { PseudonymKeyFile = path });

        Assert.True(ids.Enabled);
        Assert.Equal(UserIdProtector.WithKey(Enumerable.Repeat((byte)0xFF, 32).ToArray()).Protect("u1"), ids.Protect("u1"));
    }

    /// <summary>Starts the app over the data folder expecting the pseudonymisation guard to refuse; returns its exception.</summary>
    private PseudonymisationException Refusal(string? keyFile)
    {
        var app = App(keyFile);
        var thrown = Record.Exception(() => app.CreateClient());
        DisposeQuietly(app);
        return Assert.IsType<PseudonymisationException>(Innermost<PseudonymisationException>(thrown));
    }

    private static void DisposeQuietly(PersonaAppFactory app)
    {
        // The host never started; disposing what was built must not mask the assertion that matters.
        try { app.DisposeAsync().AsTask().GetAwaiter().GetResult(); } catch (InvalidOperationException) { } catch (AggregateException) { }
    }

    private static Exception? Innermost<T>(Exception? ex) where T : Exception => ex switch
    {
        null => null,
        T => ex,
        AggregateException a => a.InnerExceptions.Select(Innermost<T>).FirstOrDefault(e => e is not null),
        _ => Innermost<T>(ex.InnerException),
    };

    /// <summary>
    /// Asserts that no raw id occurs in any file of the data folder (database, WAL, anything else written there) nor,
    /// decoded, in any value of any table. Returns the text values seen, with the "table.column" they were found in.
    /// </summary>
    private List<(string Where, string Value)> ScanDataFolder()
    {
        var files = Directory.GetFiles(DataDirectory, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            foreach (var raw in RawIds)
            {
                Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(raw)) < 0, $"{raw} found in {Path.GetFileName(file)}");
                Assert.True(bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(raw)) < 0, $"{raw} (UTF-16) found in {Path.GetFileName(file)}");
            }
        }

        var values = new List<(string Where, string Value)>();
        var database = Assert.Single(files, f => f.EndsWith(".db", StringComparison.Ordinal));
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        var tables = new List<string>();
        using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
            using var reader = list.ExecuteReader();
            while (reader.Read()) tables.Add(reader.GetString(0));
        }
        Assert.Superset(new HashSet<string> { "events", "users", "profiles", "documents", "audit_log" }, tables.ToHashSet());
        foreach (var table in tables)
        {
            using var select = connection.CreateCommand();
            select.CommandText = $"SELECT * FROM \"{table}\"";
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                for (var c = 0; c < reader.FieldCount; c++)
                {
                    var text = reader.GetValue(c) switch
                    {
                        string s => s,
                        byte[] b => Encoding.UTF8.GetString(b),
                        _ => null,
                    };
                    if (text is null) continue;
                    foreach (var raw in RawIds)
                        Assert.False(text.Contains(raw, StringComparison.OrdinalIgnoreCase), $"{raw} found in {table}.{reader.GetName(c)}");
                    values.Add(($"{table}.{reader.GetName(c)}", text));
                }
            }
        }
        return values;
    }
}

/// <summary>The id mapping itself: a pinned scheme (stored data depends on it), stability, and no raw passthrough.</summary>
public sealed class UserIdProtectorTests
{
    private static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    [Theory]
    [InlineData("user-1", "p_c49dc017978a22e182445ec29fd48df8")]
    [InlineData("用户-42", "p_0418c94a51a990a7d53c98e74321a64a")]
    [InlineData("", "p_d38b42096d80f45f826b44a9d5607de7")]
    public void Protect_KnownKey_GivesTheDocumentedHmac(string id, string expected) =>
        Assert.Equal(expected, UserIdProtector.WithKey(Key).Protect(id));

    [Fact]
    public void Fingerprint_IsTheHmacOfTheLabel_NotTheKey()
    {
        var ids = UserIdProtector.WithKey(Key);
        Assert.Equal("28055342dbcd88a7e3a17e1c09109ea3", ids.Fingerprint);
        Assert.DoesNotContain(Convert.ToHexStringLower(Key)[..16], ids.Fingerprint!, StringComparison.Ordinal);
        Assert.NotEqual(ids.Fingerprint, UserIdProtector.WithKey(Key.Select(b => (byte)(b ^ 1)).ToArray()).Fingerprint);
    }

    [Fact]
    public void Off_IsTheIdentity()
    {
        Assert.False(UserIdProtector.Off.Enabled);
        Assert.Null(UserIdProtector.Off.Fingerprint);
        Assert.Equal("u1", UserIdProtector.Off.Protect("u1"));
        Assert.Equal("p_c49dc017978a22e182445ec29fd48df8", UserIdProtector.Off.ToStored("p_c49dc017978a22e182445ec29fd48df8"));
        Assert.Same(UserIdProtector.Off, UserIdProtector.Create(new PersonaPrivacyOptions()));
    }

    [Fact]
    public void WithKey_ShorterThan32Bytes_Throws() =>
        Assert.Throws<ArgumentException>(() => UserIdProtector.WithKey(new byte[31]));

    [Fact]
    public void Protect_AnyId_IsAStablePseudonymThatToStoredKeepsAndThatNeverEchoesTheId()
    {
        var ids = UserIdProtector.WithKey(Key);
        var other = UserIdProtector.WithKey(Key.Reverse().ToArray());
        Prop.ForAll<NonNull<string>>(id =>
        {
            var raw = id.Get;
            var stored = ids.Protect(raw);
            return UserIdProtector.IsPseudonym(stored)
                && stored == ids.Protect(raw)
                && stored == ids.ToStored(raw)
                && ids.ToStored(stored) == stored
                && other.Protect(raw) != stored
                && (raw.Length < 3 || !stored.Contains(raw, StringComparison.Ordinal));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Protect_DistinctIds_GiveDistinctPseudonyms()
    {
        var ids = UserIdProtector.WithKey(Key);
        // Ids a shop might use side by side, including ones differing only in case, width or a trailing space.
        var raw = Enumerable.Range(0, 20_000).Select(i => $"user-{i}").Concat(["User-1", "user-1 ", "ｕｓｅｒ-1", "user-01"]).ToList();
        Assert.Equal(raw.Count, raw.Select(ids.Protect).Distinct(StringComparer.Ordinal).Count());
        // And a long id (past the stack buffer) is handled the same way.
        var longId = new string('x', 5_000);
        Assert.Equal(ids.Protect(longId), ids.Protect(new string('x', 5_000)));
    }

    [Theory]
    [InlineData("p_c49dc017978a22e182445ec29fd48df8", true)]
    [InlineData("p_C49DC017978A22E182445EC29FD48DF8", false)]
    [InlineData("p_c49dc017978a22e182445ec29fd48df", false)]
    [InlineData("q_c49dc017978a22e182445ec29fd48df8", false)]
    [InlineData("p_c49dc017978a22e182445ec29fd48dg8", false)]
    [InlineData("u1", false)]
    public void IsPseudonym_Shape(string id, bool expected) => Assert.Equal(expected, UserIdProtector.IsPseudonym(id));

    [Fact]
    public async Task Guard_EmptyStoreWithKey_IsMarkedWithTheFingerprintOnly()
    {
        var dir = Path.Combine(Path.GetTempPath(), "persona-tests", "guard-" + Guid.NewGuid().ToString("n"));
        try
        {
            await using var store = new Persona.Storage.Sqlite.SqlitePersonaStore(new Persona.Storage.Sqlite.SqliteStoreOptions { DataDirectory = dir });
            await store.InitializeAsync();
            var ids = UserIdProtector.WithKey(Key);
            Assert.False(await PseudonymStoreGuard.IsPseudonymisedAsync(store, CancellationToken.None));

            await PseudonymStoreGuard.CheckAsync(store, ids, TimeProvider.System, CancellationToken.None);

            var marker = await store.GetDocumentAsync(PseudonymStoreGuard.DocumentKind, PseudonymStoreGuard.DocumentKey);
            using var json = JsonDocument.Parse(marker!);
            Assert.Equal(ids.Fingerprint, json.RootElement.GetProperty("key_fingerprint").GetString());
            Assert.Equal(PseudonymStoreGuard.Scheme, json.RootElement.GetProperty("scheme").GetString());
            Assert.DoesNotContain(Convert.ToBase64String(Key), marker, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToHexStringLower(Key), marker, StringComparison.Ordinal);
            // Checking again with the same key is quiet; without it, refused.
            await PseudonymStoreGuard.CheckAsync(store, ids, TimeProvider.System, CancellationToken.None);
            await Assert.ThrowsAsync<PseudonymisationException>(() => PseudonymStoreGuard.CheckAsync(store, UserIdProtector.Off, TimeProvider.System, CancellationToken.None));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
