using System.Net;
using System.Net.Http.Headers;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace Persona.Server.Tests;

/// <summary>
/// Property-based fuzzing of every write endpoint: malformed JSON, wrong types, huge and empty values, invalid
/// UTF-8 and random bytes get a 4xx (never a 5xx), and a rejected request writes nothing.
/// </summary>
public sealed class FuzzTests(PersonaAppFactory factory) : IClassFixture<PersonaAppFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    private const string ValidEvents =
        """[{"id":"fz-1","user_id":"fz-user","type":"purchase","item_id":"fz-item","value":19.5,"timestamp":"2026-01-01T10:00:00Z","context":{"device":"mobile"}},{"user_id":"fz-user","type":"search","query":"红色 dress","timestamp":"2026-01-01T10:01:00Z"}]""";
    private const string ValidItem =
        """{"title":"Running Shoe","description":"Light","category_path":"Sports > Shoes","brand":"Fleet","price":399.5,"attributes":{"title_zh":"跑鞋"},"available":true}""";
    private const string ValidUser = """{"age_band":"25-34","region":"Shanghai","consent":{"personalization":true,"marketing":false}}""";
    private const string ValidRule = """{"segments":["s1"],"tags":["price_sensitive"],"affinities":{"Beauty":0.2},"lifecycle":["active"],"min_count":10}""";

    private static readonly string[] WrongValues =
        ["null", "true", "-1", "1e309", "\"\"", "[]", "{}", "\"2026-13-45T99:00:00Z\"", "12345678901234567890123", "\"\\u0000\"", "[[[[[[]]]]]]"];

    /// <summary>One fuzzed body: a mutation of a valid one, chosen and parameterised by the seed.</summary>
    private static byte[] Mutate(string valid, int seed)
    {
        var rng = new Random(seed);
        var bytes = Encoding.UTF8.GetBytes(valid);
        switch (rng.Next(9))
        {
            case 0: // random bytes
                var noise = new byte[rng.Next(0, 300)];
                rng.NextBytes(noise);
                return noise;
            case 1: // truncated
                return bytes[..rng.Next(0, bytes.Length)];
            case 2: // invalid UTF-8 spliced in
                var at = rng.Next(bytes.Length);
                return [.. bytes[..at], 0xC3, 0x28, 0xFF, .. bytes[at..]];
            case 3: // a value of the wrong type
            {
                var colons = Enumerable.Range(0, valid.Length).Where(i => valid[i] == ':').ToList();
                var colon = colons[rng.Next(colons.Count)];
                var end = valid.IndexOfAny([',', '}'], colon + 1);
                if (end < 0) end = valid.Length;
                return Encoding.UTF8.GetBytes(valid[..(colon + 1)] + WrongValues[rng.Next(WrongValues.Length)] + valid[end..]);
            }
            case 4: // a huge string value
            {
                var quote = valid.IndexOf(":\"", StringComparison.Ordinal);
                return quote < 0 ? bytes : Encoding.UTF8.GetBytes(valid[..(quote + 2)] + new string('长', rng.Next(10_000, 300_000)) + valid[(quote + 2)..]);
            }
            case 5: // empty or whitespace
                return rng.Next(2) == 0 ? [] : Encoding.UTF8.GetBytes("  \n ");
            case 6: // deep nesting
                var depth = rng.Next(30, 3_000);
                return Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth));
            case 7: // a random byte flipped
            {
                var copy = (byte[])bytes.Clone();
                copy[rng.Next(copy.Length)] = (byte)rng.Next(256);
                return copy;
            }
            default: // the wrong top-level shape
                return Encoding.UTF8.GetBytes(WrongValues[rng.Next(WrongValues.Length)]);
        }
    }

    private async Task<(long Events, long Items, long Users, int Audiences)> CountsAsync()
    {
        var store = factory.Engine.Store;
        return (await store.CountEventsAsync(), await store.CountItemsAsync(), await store.CountUsersAsync(),
            (await store.ListDocumentKeysAsync(Persona.Hosting.AudienceService.DocumentKind)).Count);
    }

    private void Fuzz(HttpMethod method, string path, string valid, int cases)
    {
        var property = Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var body = Mutate(valid, seed);
            var before = CountsAsync().GetAwaiter().GetResult();
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = _client.SendAsync(new HttpRequestMessage(method, path) { Content = content }).GetAwaiter().GetResult();
            var status = (int)response.StatusCode;
            var after = CountsAsync().GetAwaiter().GetResult();
            if (status >= 500) throw new InvalidOperationException($"{method} {path} answered {status} for seed {seed} (mutation {new Random(seed).Next(9)}): {Convert.ToBase64String(body[..Math.Min(body.Length, 200)])}");
            if (status >= 400 && before != after) throw new InvalidOperationException($"{method} {path} answered {status} but wrote (seed {seed}): {before} → {after}");
            return status is >= 200 and < 500;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(cases), property);
    }

    [Fact]
    public async Task PostEvents_FuzzedBodies_Only4xxAndNothingWritten() => await Task.Run(() => Fuzz(HttpMethod.Post, "/v1/events", ValidEvents, 250));

    [Fact]
    public async Task PutItem_FuzzedBodies_Only4xxAndNothingWritten() => await Task.Run(() => Fuzz(HttpMethod.Put, "/v1/items/fz-item", ValidItem, 200));

    [Fact]
    public async Task PutUser_FuzzedBodies_Only4xxAndNothingWritten() => await Task.Run(() => Fuzz(HttpMethod.Put, "/v1/users/fz-user", ValidUser, 200));

    [Fact]
    public async Task PostAudience_FuzzedBodies_Only4xx() => await Task.Run(() => Fuzz(HttpMethod.Post, "/v1/audiences", ValidRule, 150));

    [Fact]
    public async Task FuzzedIdsAndQueries_NeverAnswer5xx()
    {
        string[] ids = ["", " ", "%01", "%FF%FE", new string('x', 5_000), "a/b", "..", "%E4%B8", "😀", "null"];
        foreach (var id in ids)
        {
            foreach (var path in new[] { $"/v1/items/{id}", $"/v1/users/{id}", $"/v1/users/{id}/profile", $"/v1/audiences/{id}", $"/v1/audiences/{id}/export?format={id}" })
            {
                using var response = await _client.GetAsync(path);
                Assert.True((int)response.StatusCode < 500, $"GET {path}: {(int)response.StatusCode}");
            }
            using var put = await _client.PutAsync($"/v1/items/{id}", HttpJson.Body(ValidItem));
            Assert.True((int)put.StatusCode < 500, $"PUT item '{id}': {(int)put.StatusCode}");
        }
    }

    [Fact]
    public async Task PostEvents_BodyOverTheLimitOrBatchOver1000_Rejected()
    {
        var batch = "[" + string.Join(",", Enumerable.Range(0, 1_001).Select(i => $$"""{"user_id":"big","type":"view","item_id":"i{{i}}","timestamp":"2026-01-01T00:00:00Z"}""")) + "]";
        var before = await factory.CountEventsAsync();
        using var response = await _client.PostAsync("/v1/events", HttpJson.Body(batch));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, await factory.CountEventsAsync());
    }
}
