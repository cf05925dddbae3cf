using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Persona.Abstractions;
using Persona.Hosting;
using Persona.Server.Security;

namespace Persona.Server.Tests;

/// <summary>The audience shop behind API keys: one key per scope.</summary>
public sealed class SecuredShopFactory : IAsyncLifetime
{
    public const string IngestKey = "pk_test_ingest";
    public const string ReadKey = "pk_test_read";
    public const string AdminKey = "pk_test_admin";

    public PersonaAppFactory App { get; } = new();

    public async Task InitializeAsync()
    {
        App.Settings["Persona:Security:Open"] = "false";
        (string Name, string Secret, string Scope)[] keys = [("ingester", IngestKey, PersonaScopes.Ingest), ("reader", ReadKey, PersonaScopes.Read), ("ops", AdminKey, PersonaScopes.Admin)];
        for (var i = 0; i < keys.Length; i++)
        {
            App.Settings[$"Persona:Security:Keys:{i}:Name"] = keys[i].Name;
            App.Settings[$"Persona:Security:Keys:{i}:Hash"] = ApiKeyOptions.HashOf(keys[i].Secret);
            App.Settings[$"Persona:Security:Keys:{i}:Scopes:0"] = keys[i].Scope;
        }
        _ = App.CreateClient();
        await AudienceShopFactory.SeedAsync(App.Engine);
    }

    public HttpClient Client(string? key)
    {
        var client = App.CreateClient();
        if (key is not null) client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}

public sealed class SecurityTests(SecuredShopFactory shop) : IClassFixture<SecuredShopFactory>
{
    /// <summary>Every mapped endpoint with its method and a concrete path (route parameters filled in).</summary>
    private List<(string Method, string Path, string? Scope)> Endpoints()
    {
        var sources = shop.App.Services.GetRequiredService<IEnumerable<EndpointDataSource>>();
        var found = new List<(string, string, string?)>();
        foreach (var endpoint in sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null) continue;
            var path = "/" + string.Join('/', endpoint.RoutePattern.PathSegments.Select(segment =>
                string.Concat(segment.Parts.Select(part => part switch
                {
                    Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart literal => literal.Content,
                    _ => "x",
                }))));
            var authorize = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>();
            var policy = authorize.Count == 0 ? null : authorize[^1].Policy;
            var scope = policy?.StartsWith("scope:", StringComparison.Ordinal) == true ? policy["scope:".Length..] : null;
            foreach (var method in endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                found.Add((method, path, scope));
        }
        return found;
    }

    [Fact]
    public void EveryApiEndpoint_DeclaresAScope()
    {
        var endpoints = Endpoints().Where(e => e.Path.StartsWith("/v1/", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(endpoints);
        Assert.All(endpoints, e => Assert.True(e.Scope is not null, $"{e.Method} {e.Path} declares no scope"));
    }

    [Fact]
    public async Task EveryEndpoint_MissingOrInvalidKey_Is401ProblemDetails()
    {
        using var none = shop.Client(null);
        using var wrong = shop.Client("pk_not_a_key");
        foreach (var (method, path, _) in Endpoints().Where(e => e.Scope is not null))
        {
            foreach (var client in new[] { none, wrong })
            {
                using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = HttpJson.Body("{}") });
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {(int)response.StatusCode}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }
    }

    [Fact]
    public async Task EveryEndpoint_KeyWithoutTheScope_Is403_AdminPasses()
    {
        using var ingest = shop.Client(SecuredShopFactory.IngestKey);
        using var read = shop.Client(SecuredShopFactory.ReadKey);
        using var admin = shop.Client(SecuredShopFactory.AdminKey);
        foreach (var (method, path, scope) in Endpoints().Where(e => e.Scope is not null))
        {
            var lacking = scope == PersonaScopes.Ingest ? read : ingest;
            using var denied = await lacking.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = HttpJson.Body("{}") });
            Assert.True(denied.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} ({scope}) without the scope: {(int)denied.StatusCode}");
            Assert.Contains(scope!, await denied.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            if (path.EndsWith("/refresh", StringComparison.Ordinal)) continue;
            using var allowed = await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = HttpJson.Body("{}") });
            Assert.True(allowed.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{method} {path} with admin: {(int)allowed.StatusCode}");
        }
    }

    [Fact]
    public async Task Health_IsPublicAndReportsTheMode()
    {
        using var none = shop.Client(null);
        var health = await (await none.GetAsync("/health")).ReadJsonAsync();
        Assert.Equal("api_keys", health.GetProperty("security").GetString());
    }

    [Fact]
    public async Task Health_ListsTheBackgroundWorkWhileItRuns()
    {
        using var none = shop.Client(null);
        async Task<string?[]> Background() =>
            [.. (await (await none.GetAsync("/health")).ReadJsonAsync()).GetProperty("background").EnumerateArray().Select(e => e.GetString())];
        using (shop.App.Engine.Background.Begin("test job"))
            Assert.Contains("test job", await Background());
        Assert.DoesNotContain("test job", await Background());
    }

    [Fact]
    public async Task EraseUser_LeavesNoTraceInStoreModelsAudiencesOrApi()
    {
        using var admin = shop.Client(SecuredShopFactory.AdminKey);
        const string user = "u10";
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/v1/segments/refresh", null)).StatusCode);
        var audienceId = (await (await admin.PostAsync("/v1/audiences", HttpJson.Body("{}"))).ReadJsonAsync()).GetProperty("id").GetString();
        Assert.Contains(user, await admin.GetStringAsync($"/v1/audiences/{audienceId}/export?format=csv"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/v1/users/{user}/profile")).StatusCode);

        var response = await admin.DeleteAsync($"/v1/users/{user}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var receipt = await response.ReadJsonAsync();
        Assert.True(receipt.GetProperty("events").GetInt32() > 0);
        Assert.True(receipt.GetProperty("user_record").GetBoolean());
        Assert.Contains(receipt.GetProperty("removed").EnumerateArray().Select(r => r.GetString()), r => r!.Contains("predictions", StringComparison.Ordinal));

        var store = shop.App.Engine.Store;
        Assert.Empty(await store.GetUserEventsAsync(user));
        Assert.Null(await store.GetUserAsync(user));
        Assert.Null(await store.GetProfileAsync(user));
        foreach (var kind in new[] { AudienceService.DocumentKind, PersonaModels.DocumentKind })
            foreach (var key in await store.ListDocumentKeysAsync(kind))
                Assert.DoesNotContain($"\"{user}\"", await store.GetDocumentAsync(kind, key), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/v1/users/{user}/profile")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/v1/users/{user}")).StatusCode);
        Assert.DoesNotContain(user, await admin.GetStringAsync($"/v1/audiences/{audienceId}/export?format=csv"), StringComparison.Ordinal);

        // A retrain reads the store, which no longer holds them.
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/v1/segments/refresh", null)).StatusCode);
        foreach (var key in await store.ListDocumentKeysAsync(PersonaModels.DocumentKind))
            Assert.DoesNotContain($"\"{user}\"", await store.GetDocumentAsync(PersonaModels.DocumentKind, key), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/v1/users/{user}")).StatusCode);

        var audit = await (await admin.GetAsync("/v1/admin/audit?limit=50")).ReadJsonAsync();
        var entries = audit.EnumerateArray().ToList();
        Assert.Contains(entries, e => e.GetProperty("action").GetString() == AuditActions.EraseUser && e.GetProperty("target").GetString() == user
            && e.GetProperty("actor").GetString() == "key:ops");
        Assert.Contains(entries, e => e.GetProperty("action").GetString() == AuditActions.ExportAudience);
    }

    [Fact]
    public async Task Audit_LimitOutOfRange_NamesTheParameter()
    {
        using var admin = shop.Client(SecuredShopFactory.AdminKey);
        var response = await admin.GetAsync("/v1/admin/audit?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJsonAsync()).GetProperty("errors").TryGetProperty("limit", out _));
    }

    /// <summary>
    /// Only what reads the whole shop (minutes at a million shoppers) is exempt from the request timeout, which would
    /// otherwise cancel it half-way; everything else stays bounded.
    /// </summary>
    [Fact]
    public void RequestTimeout_ExemptsOnlyTheWholeShopOperations()
    {
        var sources = shop.App.Services.GetRequiredService<IEnumerable<EndpointDataSource>>();
        var exempt = sources.SelectMany(s => s.Endpoints)
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Timeouts.DisableRequestTimeoutAttribute>() is not null)
            .Select(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName)
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(["CreateAudience", "ExportAudience", "RefreshModels"], exempt);
    }
}

/// <summary>The limits in <c>Persona:Security</c> reach the pipeline through the validated options.</summary>
public sealed class SecurityLimitsTests
{
    [Fact]
    public async Task RateLimit_FromOptions_RejectsBeyondTheBurstWith429ProblemDetails()
    {
        await using var app = new PersonaAppFactory();
        app.Settings["Persona:Security:RequestsPerSecond"] = "1";
        app.Settings["Persona:Security:Burst"] = "3";
        using var client = app.CreateClient();

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? rejected = null;
        for (var i = 0; i < 6; i++)
        {
            var response = await client.GetAsync("/health");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) rejected ??= response;
            else response.Dispose();
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], statuses.Take(3));
        Assert.NotNull(rejected);
        Assert.Equal("application/problem+json", rejected.Content.Headers.ContentType?.MediaType);
        Assert.Contains("1 requests a second (bursts up to 3)", await rejected.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        rejected.Dispose();
    }

    [Theory]
    [InlineData("MaxRequestBodyBytes", "10")]
    [InlineData("RequestTimeoutSeconds", "0")]
    [InlineData("RequestsPerSecond", "-1")]
    public async Task Start_InvalidLimit_FailsNamingTheOption(string option, string value)
    {
        await using var app = new PersonaAppFactory();
        app.Settings[$"Persona:Security:{option}"] = value;

        var error = Record.Exception(() => app.CreateClient());

        Assert.NotNull(error);
        var failure = error as Microsoft.Extensions.Options.OptionsValidationException ?? error.InnerException as Microsoft.Extensions.Options.OptionsValidationException;
        Assert.NotNull(failure);
        Assert.Contains(failure.Failures, f => f.Contains($"Persona:Security:{option}", StringComparison.Ordinal));
    }
}
