using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Persona.Server.Tests;

/// <summary>A body with no Content-Length: sent chunked, so the server only learns its size by reading it.</summary>
internal sealed class UnknownLengthContent : HttpContent
{
    private readonly byte[] _bytes;

    public UnknownLengthContent(byte[] bytes)
    {
        _bytes = bytes;
        Headers.ContentType = new MediaTypeHeaderValue("application/json");
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        for (var at = 0; at < _bytes.Length; at += 64 * 1024)
            await stream.WriteAsync(_bytes.AsMemory(at, Math.Min(64 * 1024, _bytes.Length - at)));
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}

/// <summary>Every write over the body limit, however it is sent, and whoever sends it, gets 413 problem details and stores nothing.</summary>
public static class OversizedBodies
{
    public const int DefaultLimit = 8 * 1024 * 1024;

    /// <summary>
    /// Valid writes padded with JSON white space past the default 8 MiB limit: without the limit each would be stored,
    /// so an unchanged count shows the limit, not validation, stopped it.
    /// </summary>
    public static IEnumerable<(HttpMethod Method, string Path, byte[] Body)> Writes()
    {
        var padding = new string(' ', DefaultLimit + 1024);
        yield return (HttpMethod.Post, "/v1/events", Encoding.UTF8.GetBytes(
            """[{"id":"big-1","user_id":"big-user","type":"view","item_id":"big-item","timestamp":"2026-10-01T00:00:00Z"}""" + padding + "]"));
        yield return (HttpMethod.Put, "/v1/items/big-item", Encoding.UTF8.GetBytes("""{"title":"Big","price":10""" + padding + "}"));
        yield return (HttpMethod.Put, "/v1/users/big-user", Encoding.UTF8.GetBytes("""{"region":"Shanghai""" + "\"" + padding + "}"));
        yield return (HttpMethod.Post, "/v1/audiences", Encoding.UTF8.GetBytes("{" + padding + "}"));
    }

    /// <summary>Sends each oversized write with a Content-Length and chunked, and checks the answer; <paramref name="counts"/> reads what is stored.</summary>
    public static async Task AssertRejectedAsync(HttpClient client, Func<Task<string>> counts)
    {
        foreach (var (method, path, body) in Writes())
        {
            foreach (var chunked in new[] { false, true })
            {
                var before = await counts();
                HttpContent content = chunked ? new UnknownLengthContent(body) : new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
                using var request = new HttpRequestMessage(method, path) { Content = content };
                using var response = await client.SendAsync(request);
                var how = $"{method} {path} ({(chunked ? "chunked" : "Content-Length")})";
                Assert.True(response.StatusCode == HttpStatusCode.RequestEntityTooLarge, $"{how}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                var problem = await response.ReadJsonAsync();
                Assert.Equal(413, problem.GetProperty("status").GetInt32());
                Assert.Contains("8,388,608 bytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
                Assert.Equal(DefaultLimit, problem.GetProperty("max_request_body_bytes").GetInt64());
                Assert.Equal(before, await counts());
            }
        }
    }
}

public sealed class BodyLimitTests(PersonaAppFactory factory) : IClassFixture<PersonaAppFactory>
{
    private async Task<string> CountsAsync()
    {
        var store = factory.Engine.Store;
        return $"events {await store.CountEventsAsync()}, items {await store.CountItemsAsync()}, users {await store.CountUsersAsync()}, " +
            $"audiences {(await store.ListDocumentKeysAsync(Persona.Hosting.AudienceService.DocumentKind)).Count}";
    }

    [Fact]
    public async Task EveryWrite_BodyOverTheLimit_Open_413ProblemAndNothingStored()
    {
        using var client = factory.CreateClient();
        await OversizedBodies.AssertRejectedAsync(client, CountsAsync);
    }

    [Fact]
    public async Task Write_BodyJustUnderTheLimit_IsRead()
    {
        using var client = factory.CreateClient();
        var body = """{"title":"Padded","price":10""" + new string(' ', OversizedBodies.DefaultLimit - 100) + "}";
        using var response = await client.PutAsync("/v1/items/padded", new UnknownLengthContent(Encoding.UTF8.GetBytes(body)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

public sealed class KeyedBodyLimitTests(SecuredShopFactory shop) : IClassFixture<SecuredShopFactory>
{
    [Fact]
    public async Task EveryWrite_BodyOverTheLimit_Keyed_413ProblemAndNothingStored()
    {
        using var client = shop.Client(SecuredShopFactory.AdminKey);
        var store = shop.App.Engine.Store;
        await OversizedBodies.AssertRejectedAsync(client, async () =>
            $"events {await store.CountEventsAsync()}, items {await store.CountItemsAsync()}, users {await store.CountUsersAsync()}, " +
            $"audiences {(await store.ListDocumentKeysAsync(Persona.Hosting.AudienceService.DocumentKind)).Count}");
    }

    [Fact]
    public async Task Write_BodyOverTheLimit_WithoutAKey_Is401()
    {
        using var client = shop.Client(null);
        var (method, path, body) = OversizedBodies.Writes().First();
        using var response = await client.SendAsync(new HttpRequestMessage(method, path) { Content = new ByteArrayContent(body) });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
