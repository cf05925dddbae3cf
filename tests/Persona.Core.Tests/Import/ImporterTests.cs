using System.Text;
using Persona.Abstractions;
using Persona.Core.Import;

namespace Persona.Core.Tests.Import;

public sealed class ImporterTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "persona-import-" + Guid.NewGuid().ToString("N"));

    public ImporterTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }

    internal static async Task<List<ImportResult<T>>> ToListAsync<T>(IAsyncEnumerable<ImportResult<T>> source)
    {
        var list = new List<ImportResult<T>>();
        await foreach (var result in source) list.Add(result);
        return list;
    }

    private static ImportError SingleError<T>(List<ImportResult<T>> results) =>
        Assert.Single(results, r => !r.IsSuccess).Error!;

    private const string EventHeader = "id,user_id,type,item_id,query,value,timestamp,session_id,device,channel\n";

    [Fact]
    public async Task EventsCsv_ValidRows_Parsed()
    {
        var path = Write("events.csv", EventHeader +
            "e1,u1,view,i1,,35,2026-10-31T12:00:00Z,s1,mobile,app\n" +
            ",u2,search,,\"口红, red\",,1700000000,,,\n" +
            "e3,u3,add_to_cart,i9,,2,1700000000123,,,\n" +
            "e4,u4,purchase,i9,,199.5,2026-10-31 20:15:00+08:00,,,\n");

        var results = await ToListAsync(EventImporter.ReadAsync(path));

        Assert.All(results, r => Assert.True(r.IsSuccess, r.ToString()));
        var events = results.Select(r => r.Record!.Value).ToArray();
        Assert.Equal(new Event
        {
            Id = "e1", UserId = "u1", Type = EventType.View, ItemId = "i1", Value = 35,
            Timestamp = new DateTimeOffset(2026, 10, 31, 12, 0, 0, TimeSpan.Zero), SessionId = "s1", Device = "mobile", Channel = "app",
        }, events[0]);
        Assert.Null(events[1].Id);
        Assert.Equal("口红, red", events[1].Query);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), events[1].Timestamp);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123), events[2].Timestamp);
        Assert.Equal(new DateTimeOffset(2026, 10, 31, 12, 15, 0, TimeSpan.Zero), events[3].Timestamp!.Value.ToUniversalTime());
        Assert.Equal([2L, 3L, 4L, 5L], results.Select(r => r.Record!.Line));
        Assert.All(results, r => Assert.Equal("events.csv", r.Record!.File));
    }

    [Fact]
    public async Task EventsCsv_BadTimestamp_ErrorNamesFileLineAndField()
    {
        var path = Write("events.csv", EventHeader +
            "e1,u1,view,i1,,,2026-10-31T12:00:00Z,,,\n" +
            "e2,u1,view,i1,\"a query\nover two lines\",,2026-10-31,,,\n" +
            "e3,u1,view,i1,,,2024-13-01,,,\n");

        var results = await ToListAsync(EventImporter.ReadAsync(path));

        var error = SingleError(results);
        Assert.Equal("events.csv line 5, field `timestamp`: '2024-13-01' is not a date (use ISO-8601 or unix seconds/milliseconds)", error.ToString());
        Assert.Equal(2, results.Count(r => r.IsSuccess));
    }

    [Theory]
    [InlineData("e1,u1,clack,i1,,,,,,", "type", "'clack' is not an event type")]
    [InlineData("e1,,view,i1,,,,,,", "user_id", "a value is required")]
    [InlineData("e1,u1,,i1,,,,,,", "type", "a value is required")]
    [InlineData("e1,u1,view,i1,,abc,,,,", "value", "'abc' is not a number")]
    [InlineData("e1,u1,view,i1,,,01/02/2024,,,", "timestamp", "'01/02/2024' is not a date")]
    [InlineData("e1,u1,view,i1", "(row)", "expected 10 fields as in the header, found 4")]
    [InlineData("e1,u1,view,\"i1\"x,,,,,,", "(row)", "after the closing quote")]
    public async Task EventsCsv_BadRow_ErrorNamesField(string row, string field, string message)
    {
        var path = Write("events.csv", EventHeader + "ok,u0,view,i0,,,,,,\n" + row + "\n");

        var results = await ToListAsync(EventImporter.ReadAsync(path));

        var error = SingleError(results);
        Assert.Equal(("events.csv", 3L, field), (error.File, error.Line, error.Field));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.True(results[0].IsSuccess);
    }

    [Fact]
    public async Task EventsCsv_SeveralBadFields_OneErrorEach()
    {
        var path = Write("events.csv", EventHeader + "e1,u1,nope,i1,,x,yesterday,,,\n");

        var errors = (await ToListAsync(EventImporter.ReadAsync(path))).Select(r => r.Error!.Field).ToArray();

        Assert.Equal(["type", "value", "timestamp"], errors);
    }

    [Fact]
    public async Task EventsCsv_HeaderProblems_Reported()
    {
        var missing = Write("missing.csv", "id,user_id,item_id\ne1,u1,i1\n");
        var unknown = Write("unknown.csv", "User_ID , type,colour\nu1,view,red\n");
        var empty = Write("empty.csv", "");

        var missingResults = await ToListAsync(EventImporter.ReadAsync(missing));
        var error = Assert.Single(missingResults).Error!;
        Assert.Equal(("missing.csv", 1L, "type"), (error.File, error.Line, error.Field));

        var unknownResults = await ToListAsync(EventImporter.ReadAsync(unknown));
        Assert.Equal("colour", unknownResults[0].Error!.Field);
        Assert.Contains("unknown column", unknownResults[0].Error!.Message, StringComparison.Ordinal);
        Assert.Equal("u1", unknownResults[1].Record!.Value.UserId);

        var emptyResults = await ToListAsync(EventImporter.ReadAsync(empty));
        Assert.Contains("header row is required", Assert.Single(emptyResults).Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EventsJsonLines_ValidAndBrokenLines_ErrorsNameLineAndProperty()
    {
        var path = Write("events.jsonl", string.Join("\n",
            """{"id":"e1","user_id":"u1","type":"add_to_cart","item_id":"i1","value":2,"timestamp":"2026-10-31T12:00:00Z"}""",
            "",
            """{"user_id":"u1","type":"view","value":"abc"}""",
            """{"user_id":"u1","type":"clack"}""",
            """{"user_id":"u1","type":"view","timestamp":"2024-13-01"}""",
            """{"type":"view"}""",
            """{"user_id":null,"type":"view"}""",
            """{"user_id":"u1","type":"view",""",
            """[1,2]""",
            "null",
            """{"user_id":"u2","type":"search","query":"兰蔻 口红"}"""));

        var results = await ToListAsync(EventImporter.ReadAsync(path));

        Assert.Equal(EventType.AddToCart, results[0].Record!.Value.Type);
        Assert.Equal(1, results[0].Record!.Line);
        var errors = results.Where(r => !r.IsSuccess).Select(r => r.Error!).ToArray();
        Assert.Equal([3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L], errors.Select(e => e.Line));
        Assert.Equal(["value", "type", "timestamp", "user_id", "user_id", "(row)", "(row)", "(row)"], errors.Select(e => e.Field));
        Assert.Equal("events.jsonl line 3, field `value`: 'abc' is not a number", errors[0].ToString());
        Assert.StartsWith("'clack' is not an event type", errors[1].Message, StringComparison.Ordinal);
        Assert.Equal("'2024-13-01' is not an ISO-8601 date", errors[2].Message);
        Assert.StartsWith("invalid JSON", errors[5].Message, StringComparison.Ordinal);
        Assert.Equal("expected a JSON object, found an array", errors[6].Message);
        var last = results[^1].Record!;
        Assert.Equal((11L, "兰蔻 口红"), (last.Line, last.Value.Query));
    }

    [Fact]
    public async Task ItemsCsv_PathsAttributesAndDefaults_Parsed()
    {
        var path = Write("items.csv",
            "id,title,description,category_path,brand,price,currency,available,created_at,attributes\n" +
            "i1,Lancome Matte Lipstick,,Beauty > Makeup > Lipstick,Lancome,299,,,2025-01-01,\"{\"\"title_zh\"\":\"\"兰蔻口红\"\",\"\"weight_g\"\":3.4}\"\n" +
            "i2,Phone,,Electronics/Phones,,2999.5,USD,no,,color=black; storage = 256GB\n" +
            "i3,,,,,,,,,\n");

        var items = (await ToListAsync(ItemImporter.ReadAsync(path))).Select(r => r.Record!.Value).ToArray();

        Assert.Equal(["Beauty", "Makeup", "Lipstick"], items[0].CategoryPath);
        Assert.Equal("兰蔻口红", items[0].Attributes["title_zh"]);
        Assert.Equal("3.4", items[0].Attributes["weight_g"]);
        Assert.Equal("CNY", items[0].Currency);
        Assert.True(items[0].Available);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), items[0].CreatedAt);
        Assert.Equal(["Electronics", "Phones"], items[1].CategoryPath);
        Assert.Equal(("black", "256GB"), (items[1].Attributes["color"], items[1].Attributes["storage"]));
        Assert.False(items[1].Available);
        Assert.Equal(("USD", 2999.5), (items[1].Currency, items[1].Price!.Value));
        Assert.Empty(items[2].CategoryPath);
        Assert.Empty(items[2].Attributes);
    }

    [Theory]
    [InlineData("i1,,,,,cheap,,,,", "price", "'cheap' is not a number")]
    [InlineData("i1,,,,,,,maybe,,", "available", "'maybe' is not a boolean")]
    [InlineData("i1,,,,,,,,,color", "attributes", "'color' is not a key=value pair")]
    [InlineData("i1,,,,,,,,,\"{\"\"a\"\":[1]}\"", "attributes", "attribute 'a' is an array")]
    [InlineData("i1,,,,,,,,,\"{\"\"a\"\":\"", "attributes", "is not a valid JSON object")]
    [InlineData(",t,,,,,,,,", "id", "a value is required")]
    public async Task ItemsCsv_BadField_ErrorNamesField(string row, string field, string message)
    {
        var path = Write("items.csv", "id,title,description,category_path,brand,price,currency,available,created_at,attributes\n" + row + "\n");

        var error = SingleError(await ToListAsync(ItemImporter.ReadAsync(path)));

        Assert.Equal(("items.csv", 2L, field), (error.File, error.Line, error.Field));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ItemsJsonLines_WrongTypes_ErrorsNameNestedProperty()
    {
        var path = Write("items.jsonl", string.Join("\n",
            """{"id":"i1","category_path":["Beauty",3]}""",
            """{"id":"i2","attributes":{"size":3}}""",
            """{"id":"i3","available":"yes"}""",
            """{"id":"i4","title":null,"category_path":null,"attributes":null}"""));

        var results = await ToListAsync(ItemImporter.ReadAsync(path));

        var errors = results.Where(r => !r.IsSuccess).Select(r => r.Error!).ToArray();
        Assert.Equal(["category_path.1", "attributes.size", "available"], errors.Select(e => e.Field));
        Assert.Equal("3 is not a string", errors[0].Message);
        Assert.Equal("'yes' is not true or false", errors[2].Message);
        var item = results[^1].Record!.Value;
        Assert.Equal(("", 0, 0), (item.Title, item.CategoryPath.Count, item.Attributes.Count));
    }

    [Fact]
    public async Task UsersCsv_ConsentAndDates_Parsed()
    {
        var path = Write("users.csv",
            "id,age_band,gender,region,signup_at,consent_personalization,consent_marketing\n" +
            "u1,25-34,female,Zhejiang,2026-01-02T03:04:05Z,yes,0\n" +
            "u2,,,,,,\n" +
            "u3,,,,,sometimes,\n");

        var results = await ToListAsync(UserImporter.ReadAsync(path));

        var u1 = results[0].Record!.Value;
        Assert.Equal(("25-34", "female", "Zhejiang"), (u1.AgeBand, u1.Gender, u1.Region));
        Assert.Equal((true, false), (u1.Consent.Personalization, u1.Consent.Marketing));
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), u1.SignupAt);
        Assert.Equal((true, true), (results[1].Record!.Value.Consent.Personalization, results[1].Record!.Value.Consent.Marketing));
        var error = results[2].Error!;
        Assert.Equal("users.csv line 4, field `consent_personalization`: 'sometimes' is not a boolean (use true/false, 1/0 or yes/no)", error.ToString());
    }

    [Fact]
    public async Task UsersJsonLines_NestedConsentWrongType_ErrorNamesPath()
    {
        var path = Write("users.jsonl", """{"id":"u1","consent":{"marketing":"no"}}""" + "\n" + """{"id":"u2","consent":{"marketing":false}}""");

        var results = await ToListAsync(UserImporter.ReadAsync(path));

        Assert.Equal(("consent.marketing", "'no' is not true or false"), (results[0].Error!.Field, results[0].Error!.Message));
        Assert.False(results[1].Record!.Value.Consent.Marketing);
        Assert.True(results[1].Record!.Value.Consent.Personalization);
    }

    [Fact]
    public async Task Read_Progress_ReachesTotalBytes()
    {
        var content = new StringBuilder(EventHeader);
        for (var i = 0; i < 10_000; i++) content.Append('e').Append(i).Append(",u1,view,i1,,,1700000000,,,\n");
        var path = Write("events.csv", content.ToString());
        var reports = new List<ImportProgress>();
        var progress = new SynchronousProgress(reports.Add);

        var results = await ToListAsync(EventImporter.ReadAsync(path, progress));

        Assert.Equal(10_000, results.Count);
        Assert.True(reports.Count >= 2);
        var final = reports[^1];
        Assert.Equal(new FileInfo(path).Length, final.TotalBytes);
        Assert.Equal(final.TotalBytes, final.BytesRead);
        Assert.Equal((10_000L, 0L, 1.0), (final.Records, final.Errors, final.Fraction));
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.BytesRead <= p.Second.BytesRead));
    }

    [Fact]
    public async Task Read_Stream_UsesGivenNameAndLeavesStreamOpen()
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("\uFEFF" + EventHeader + "e1,u1,bogus,,,,,,,\n"));

        var results = await ToListAsync(EventImporter.ReadAsync(stream, "upload.csv", ImportFormat.Csv));

        Assert.StartsWith("upload.csv line 2, field `type`: 'bogus'", results[0].Error!.ToString(), StringComparison.Ordinal);
        Assert.True(stream.CanRead);
    }

    [Fact]
    public void FromPath_UnknownExtension_Throws() =>
        Assert.Throws<ArgumentException>(() => ImportFormats.FromPath("events.xlsx"));

    [Theory]
    [InlineData("1700000000", 1_700_000_000_000L)]
    [InlineData("1700000000000", 1_700_000_000_000L)]
    [InlineData("1700000000.5", 1_700_000_000_500L)]
    [InlineData("2023-11-14T22:13:20Z", 1_700_000_000_000L)]
    [InlineData("2023-11-15T06:13:20+08:00", 1_700_000_000_000L)]
    [InlineData("2023-11-14 22:13:20", 1_700_000_000_000L)]
    public void TryParseTimestamp_Forms_SameInstant(string text, long unixMilliseconds)
    {
        Assert.True(ImportValues.TryParseTimestamp(text, out var value));
        Assert.Equal(unixMilliseconds, value.ToUnixTimeMilliseconds());
    }

    [Theory]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("2024-13-01")]
    [InlineData("11/14/2023")]
    [InlineData("1.2.3")]
    public void TryParseTimestamp_Garbage_False(string text) =>
        Assert.False(ImportValues.TryParseTimestamp(text, out _));

    /// <summary>Reports on the caller's thread, unlike <see cref="Progress{T}"/> which posts to the thread pool.</summary>
    private sealed class SynchronousProgress(Action<ImportProgress> report) : IProgress<ImportProgress>
    {
        public void Report(ImportProgress value) => report(value);
    }
}
