using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Persona.Abstractions;
using Persona.Core.Models.Sequence;

namespace Persona.Server.Tests;

public sealed class RecommendationsApiTests
{
    private static readonly string[] Leaves = ["Lipstick", "Nail Polish", "Moisturizer", "Shampoo"];
    private static readonly string[] Roots = ["Makeup", "Makeup", "Skin Care", "Hair"];

    [Fact]
    public async Task Recommendations_PostedEvent_ChangesTheNextRecommendation()
    {
        using var app = new RecommendationsAppFactory();
        using var client = app.CreateClient();
        await SeedAsync(client);

        var before = await GetAsync(client, "/v1/users/me/recommendations?n=5");
        await PostEventsAsync(client, [("me", "lipstick-0", "purchase")]);
        var after = await GetAsync(client, "/v1/users/me/recommendations?n=5");

        Assert.NotEqual(Ids(before), Ids(after));
        var first = after.GetProperty("items")[0];
        Assert.Equal("nailpolish-0", first.GetProperty("item_id").GetString());
        Assert.Equal("Often bought after Lipstick 0", first.GetProperty("reason").GetProperty("en").GetString());
        Assert.Equal("常在购买「口红0」后购买", first.GetProperty("reason").GetProperty("zh").GetString());
        Assert.True(after.GetProperty("personalized").GetBoolean());
        AssertReasons(before);
        AssertReasons(after);
    }

    [Fact]
    public async Task Recommendations_Filters_CategoryExcludeAndExcludeSeenHold()
    {
        using var app = new RecommendationsAppFactory();
        using var client = app.CreateClient();
        await SeedAsync(client);
        await PostEventsAsync(client, [("me", "lipstick-0", "purchase"), ("me", "nailpolish-0", "view")]);
        await client.PutAsync("/v1/items/nailpolish-2", HttpJson.Body(ItemJson("nailpolish-2", 1, 2, available: false)));

        var makeup = await GetAsync(client, "/v1/users/me/recommendations?n=20&category=Makeup&exclude=nailpolish-1,lipstick-3&exclude=lipstick-4&excludeSeen=true");
        var ids = Ids(makeup);

        Assert.NotEmpty(ids);
        Assert.All(ids, id => Assert.True(id.StartsWith("lipstick-", StringComparison.Ordinal) || id.StartsWith("nailpolish-", StringComparison.Ordinal), id));
        Assert.DoesNotContain("nailpolish-1", ids);
        Assert.DoesNotContain("lipstick-3", ids);
        Assert.DoesNotContain("lipstick-4", ids);
        Assert.DoesNotContain("lipstick-0", ids);
        Assert.DoesNotContain("nailpolish-0", ids);
        Assert.DoesNotContain("nailpolish-2", ids); // unavailable
        AssertReasons(makeup);

        var seenAllowed = Ids(await GetAsync(client, "/v1/users/me/recommendations?n=20"));
        Assert.Contains("nailpolish-0", seenAllowed);
    }

    [Fact]
    public async Task Recommendations_InvalidQuery_ProblemDetailsNameEachParameter()
    {
        using var app = new RecommendationsAppFactory();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/v1/users/me/recommendations?n=0&diversity=1.5&excludeSeen=maybe&category=%20");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = (await response.ReadJsonAsync()).GetProperty("errors");
        Assert.Contains("between 1 and", errors.GetProperty("n")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("between 0 and 1", errors.GetProperty("diversity")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("true or false", errors.GetProperty("excludeSeen")[0].GetString(), StringComparison.Ordinal);
        Assert.True(errors.TryGetProperty("category", out _));

        using var similar = await client.GetAsync("/v1/items/anything/similar?n=abc");
        Assert.Equal(HttpStatusCode.BadRequest, similar.StatusCode);
        Assert.True((await similar.ReadJsonAsync()).GetProperty("errors").TryGetProperty("n", out _));
    }

    [Fact]
    public async Task Recommendations_CatalogWithVariants_OneVariantPerProductUnlessAskedForAll()
    {
        using var app = new RecommendationsAppFactory();
        using var client = app.CreateClient();
        // Like the demo shop: one lipstick in four colours and two sizes, its title naming both.
        string[] colours = ["Red", "Nude", "Coral", "Rose"];
        var ids = new List<string>();
        foreach (var colour in colours)
            foreach (var size in new[] { "3g", "3.5g" })
            {
                var id = $"rouge-{colour.ToLowerInvariant()}-{size}";
                ids.Add(id);
                var item = new Dictionary<string, object>
                {
                    ["title"] = $"Rouge Matte Lipstick {colour} {size}",
                    ["category_path"] = new[] { "Beauty", "Makeup", "Lipstick" },
                    ["brand"] = "Rouge",
                    ["price"] = 99,
                    ["attributes"] = new Dictionary<string, string> { ["variant"] = colour, ["size"] = size },
                };
                using var put = await client.PutAsync($"/v1/items/{id}", HttpJson.Body(JsonSerializer.Serialize(item)));
                Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
            }
        await SeedAsync(client);
        // The variants are the shop's best sellers.
        await PostEventsAsync(client, Enumerable.Range(0, 40).Select(u => ($"fan-{u}", ids[u % ids.Count], "purchase")));

        var collapsed = Ids(await GetAsync(client, "/v1/users/new-shopper/recommendations?n=10"));
        var all = Ids(await GetAsync(client, "/v1/users/new-shopper/recommendations?n=10&collapseVariants=false"));

        Assert.Single(collapsed, ids.Contains);
        Assert.Equal(10, collapsed.Count);
        Assert.Equal(ids.Count, all.Count(ids.Contains));
        using var bad = await client.GetAsync("/v1/users/new-shopper/recommendations?collapseVariants=maybe");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("true or false", (await bad.ReadJsonAsync()).GetProperty("errors").GetProperty("collapseVariants")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Similar_UnknownItem_NotFoundProblem()
    {
        using var app = new RecommendationsAppFactory();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/v1/items/no-such-item/similar");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no-such-item", (await response.ReadJsonAsync()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Similar_KnownItem_FollowersWithReasons()
    {
        using var app = new RecommendationsAppFactory();
        using var client = app.CreateClient();
        await SeedAsync(client);

        var similar = await GetAsync(client, "/v1/items/lipstick-0/similar?n=3");

        Assert.Equal("nailpolish-0", similar.GetProperty("items")[0].GetProperty("item_id").GetString());
        Assert.DoesNotContain("lipstick-0", Ids(similar));
        AssertReasons(similar);
    }

    [Fact]
    public async Task Recommendations_ConsentWithdrawn_PopularItemsMarkedNotPersonalised()
    {
        using var app = new RecommendationsAppFactory();
        using var client = app.CreateClient();
        await SeedAsync(client);
        await PostEventsAsync(client, [("private", "lipstick-0", "purchase")]);
        using var put = await client.PutAsync("/v1/users/private", HttpJson.Body("""{"consent":{"personalization":false}}"""));
        put.EnsureSuccessStatusCode();

        var list = await GetAsync(client, "/v1/users/private/recommendations?n=5");

        Assert.False(list.GetProperty("personalized").GetBoolean());
        Assert.Equal("shampoo-0", list.GetProperty("items")[0].GetProperty("item_id").GetString());
        foreach (var item in list.GetProperty("items").EnumerateArray())
            Assert.Equal(["popularity"], item.GetProperty("sources").EnumerateArray().Select(s => s.GetString()));
        AssertReasons(list);
    }

    [Fact]
    public async Task Recommendations_NewItemWithKnownAttributes_RecommendedThroughModel()
    {
        var provider = new TestModelProvider();
        using var app = new RecommendationsAppFactory(provider);
        using var client = app.CreateClient();
        await SeedAsync(client);
        await PostEventsAsync(client, [.. Enumerable.Range(0, 5).Select(i => ("skin", $"moisturizer-{i}", "view"))]);

        var noModel = await GetAsync(client, "/v1/users/skin/recommendations?n=3&excludeSeen=true");
        Assert.False(noModel.TryGetProperty("model_version", out _));
        provider.Current = new LeafCategoryModel(Leaves);
        using var put = await client.PutAsync("/v1/items/moisturizer-new", HttpJson.Body(ItemJson("moisturizer-new", 2, 9)));
        put.EnsureSuccessStatusCode();

        var withModel = await GetAsync(client, "/v1/users/skin/recommendations?n=3&excludeSeen=true");

        Assert.Equal("leaf-model-1", withModel.GetProperty("model_version").GetString());
        var first = withModel.GetProperty("items")[0];
        Assert.Equal("moisturizer-new", first.GetProperty("item_id").GetString());
        Assert.Equal("model", first.GetProperty("sources")[0].GetString());
        Assert.Equal("Similar to Moisturizer 4 you viewed", first.GetProperty("reason").GetProperty("en").GetString());
        AssertReasons(withModel);

        var profile = await GetAsync(client, "/v1/users/skin/profile");
        Assert.Equal("leaf-model-1", profile.GetProperty("embedding_model_version").GetString());
        Assert.Equal(Leaves.Length, profile.GetProperty("embedding").GetArrayLength());
    }

    private static async Task SeedAsync(HttpClient client)
    {
        for (var c = 0; c < Leaves.Length; c++)
            for (var i = 0; i < 5; i++)
            {
                var id = $"{Leaves[c].Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant()}-{i}";
                using var response = await client.PutAsync($"/v1/items/{id}", HttpJson.Body(ItemJson(id, c, i)));
                response.EnsureSuccessStatusCode();
            }
        var events = new List<(string, string, string)>();
        for (var u = 0; u < 20; u++)
        {
            events.Add(($"habit-{u}", $"lipstick-{u % 5}", "purchase"));
            events.Add(($"habit-{u}", $"nailpolish-{u % 5}", "purchase"));
        }
        for (var u = 0; u < 30; u++) events.Add(($"fan-{u}", "shampoo-0", "purchase"));
        await PostEventsAsync(client, events);
    }

    private static string ItemJson(string id, int leaf, int i, bool available = true)
    {
        var item = new Dictionary<string, object>
        {
            ["title"] = id == "moisturizer-new" ? "Moisturizer New" : $"{Leaves[leaf]} {i}",
            ["category_path"] = new[] { "Beauty", Roots[leaf], Leaves[leaf] },
            ["brand"] = i % 2 == 0 ? "Acme" : "Zenith",
            ["price"] = 10 + i,
            ["available"] = available,
        };
        if (leaf == 0) item["attributes"] = new Dictionary<string, string> { ["title_zh"] = $"口红{i}", ["category_path_zh"] = "美妆 > 彩妆 > 口红" };
        return JsonSerializer.Serialize(item);
    }

    private static int s_clock;

    private static async Task PostEventsAsync(HttpClient client, IEnumerable<(string User, string Item, string Type)> events)
    {
        var start = DateTimeOffset.UtcNow.AddDays(-1);
        var body = new
        {
            events = events.Select(e => new
            {
                user_id = e.User,
                item_id = e.Item,
                type = e.Type,
                timestamp = start.AddMinutes(Interlocked.Increment(ref s_clock)),
            }).ToArray(),
        };
        using var response = await client.PostAsync("/v1/events", HttpJson.Body(JsonSerializer.Serialize(body)));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement> GetAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJsonAsync();
    }

    private static List<string> Ids(JsonElement list) =>
        [.. list.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("item_id").GetString()!)];

    private static void AssertReasons(JsonElement list)
    {
        foreach (var item in list.GetProperty("items").EnumerateArray())
        {
            var reason = item.GetProperty("reason");
            Assert.False(string.IsNullOrWhiteSpace(reason.GetProperty("en").GetString()));
            Assert.Contains(reason.GetProperty("zh").GetString()!, c => c >= '\u4e00' && c <= '\u9fff');
            Assert.True(item.GetProperty("score").GetDouble() > 0);
            Assert.NotEmpty(item.GetProperty("title").GetString()!);
        }
    }

    private sealed class RecommendationsAppFactory(ISequenceModelProvider? provider = null) : WebApplicationFactory<Program>
    {
        private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "persona-tests", Guid.NewGuid().ToString("n"));

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("Persona:DataDirectory", _dataDirectory);
            builder.UseSetting("Persona:Security:Open", "true");
            if (provider is not null) builder.ConfigureTestServices(services => services.AddSingleton(provider));
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private sealed class TestModelProvider : ISequenceModelProvider
    {
        public ISequenceModel? Current { get; set; }
    }

    /// <summary>A real (if tiny) model: item vector = one-hot of the leaf category; user = recency-weighted sum.</summary>
    private sealed class LeafCategoryModel(string[] leaves) : ISequenceModel
    {
        public string Version => "leaf-model-1";
        public int Dimension => leaves.Length;

        public float[]? EncodeUser(IReadOnlyList<SequenceStep> steps)
        {
            var user = new float[Dimension];
            var weight = 1f;
            var known = false;
            for (var i = steps.Count - 1; i >= 0; i--, weight *= 0.5f)
            {
                if (ItemVector(steps[i].Item) is not { } v) continue;
                known = true;
                for (var d = 0; d < Dimension; d++) user[d] += weight * v[d];
            }
            return known ? user : null;
        }

        public float[]? ItemVector(Item item)
        {
            var index = item.CategoryPath.Count == 0 ? -1 : Array.IndexOf(leaves, item.CategoryPath[^1]);
            if (index < 0) return null;
            var vector = new float[Dimension];
            vector[index] = 1;
            return vector;
        }
    }
}
