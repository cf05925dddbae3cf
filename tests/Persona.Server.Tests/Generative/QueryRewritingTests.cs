using System.Diagnostics;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Hosting;

namespace Persona.Server.Tests.Generative;

/// <summary>A small shop of face creams and running gear, searched through the real pipeline with a fake endpoint configured.</summary>
public sealed class RewritingShop : IAsyncLifetime
{
    public const string Model = "qwen-test";
    // Generous for a loaded two-core test machine, where a warm answer from the fake server can still take a few hundred ms.
    public const int BudgetMs = 1_000;

    internal FakeChatServer Fake { get; private set; } = null!;

    public PersonaAppFactory App { get; } = new();

    public HttpClient Client { get; private set; } = null!;

    /// <summary>The fixed answer per query (matched in the prompt's user message); unknown queries get a 500.</summary>
    private Dictionary<string, FakeReply> Replies { get; } = new(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        Fake = await FakeChatServer.StartAsync();
        Fake.Reply = body =>
        {
            lock (Replies)
                foreach (var (query, reply) in Replies)
                    if (Asks(body, query)) return reply;
            return new FakeReply(500, """{"error":{"message":"no reply set"}}""");
        };
        App.Settings["Persona:Generative:BaseUrl"] = Fake.BaseUrl;
        App.Settings["Persona:Generative:Model"] = Model;
        App.Settings["Persona:Generative:ApiKey"] = "sk-rewrite-secret";
        App.Settings["Persona:Generative:TimeoutSeconds"] = "5";
        App.Settings["Persona:Generative:RewriteBudgetMilliseconds"] = BudgetMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Client = App.CreateClient();
        await SeedAsync(App.Engine);
        // The first call compiles the chat client's code and opens the connection, which can take longer than the budget
        // (that search is answered by the parser): the tests measure the warm path.
        const string warmUp = "warm up the rewriting path";
        Answer(warmUp, Json("""{"categories":[],"brands":[],"price_min":null,"price_max":null,"keywords":"warm"}"""));
        (await Client.GetAsync($"/v1/search?q={Uri.EscapeDataString(warmUp)}")).EnsureSuccessStatusCode();
    }

    /// <summary>Three face creams (one above 200), running gear (one above 50), a yoga mat and a gift-card holder.</summary>
    public static async Task SeedAsync(PersonaEngine engine)
    {
        Item Make(string id, string title, string titleZh, string brand, string brandZh, double price, string path, string pathZh) => new()
        {
            Id = id, Title = title, Brand = brand, Price = price, CategoryPath = path.Split(CategoryPaths.Separator),
            Attributes = new Dictionary<string, string> { ["title_zh"] = titleZh, ["brand_zh"] = brandZh, ["category_path_zh"] = pathZh },
        };
        const string cream = "Beauty > Skincare > Face Cream", creamZh = "美妆 > 护肤 > 面霜";
        Item[] items =
        [
            Make("c-1", "Hydrating face cream", "保湿面霜", "Olay", "玉兰油", 159, cream, creamZh),
            Make("c-2", "Rich moisturizing cream", "滋润保湿面霜", "Lancome", "兰蔻", 680, cream, creamZh),
            Make("c-3", "Night repair cream", "夜间修护面霜", "Olay", "玉兰油", 199, cream, creamZh),
            Make("m-1", "Velvet lipstick", "丝绒口红", "Lancome", "兰蔻", 120, "Beauty > Makeup > Lips", "美妆 > 彩妆 > 唇部"),
            Make("r-1", "Trail running shoes", "越野跑鞋", "Kipsta", "凯普斯塔", 45, "Sports > Running > Shoes", "运动 > 跑步 > 跑鞋"),
            Make("r-2", "Running socks", "跑步袜", "Kipsta", "凯普斯塔", 12, "Sports > Running > Accessories", "运动 > 跑步 > 配件"),
            Make("r-3", "Running jacket", "跑步夹克", "Kipsta", "凯普斯塔", 89, "Sports > Running > Apparel", "运动 > 跑步 > 服装"),
            Make("y-1", "Yoga mat", "瑜伽垫", "Domyos", "多摩斯", 30, "Sports > Yoga", "运动 > 瑜伽"),
            Make("g-1", "Gift card holder", "礼品卡套", "Paperly", "纸趣", 8, "Home > Stationery", "家居 > 文具"),
        ];
        Assert.Empty(await engine.UpsertItemsAsync(items, CancellationToken.None));
    }

    /// <summary>Whether a request's messages carry <paramref name="query"/> as the prompt quotes it.</summary>
    public static bool Asks(JsonElement body, string query) =>
        body.GetProperty("messages").EnumerateArray().Any(m => Text(m.GetProperty("content")).Contains($"Query: \"{query}\"", StringComparison.Ordinal));

    /// <summary>A message's content as text: a string, or the text parts of a list.</summary>
    private static string Text(JsonElement content) => content.ValueKind == JsonValueKind.String
        ? content.GetString()!
        : string.Concat(content.EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : ""));

    internal void Answer(string query, FakeReply reply)
    {
        lock (Replies) Replies[query] = reply;
    }

    internal static FakeReply Json(string json, TimeSpan delay = default) => FakeReply.Say(json, Model, delay);

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        await Fake.DisposeAsync();
    }
}

/// <summary>Query rewriting through the search API (docs/generative.md, step 3), against a real (fake) OpenAI-compatible server.</summary>
public sealed class QueryRewritingTests(RewritingShop shop) : IClassFixture<RewritingShop>
{
    private async Task<JsonElement> SearchAsync(string query, string extra = "")
    {
        var response = await shop.Client.GetAsync($"/v1/search?q={Uri.EscapeDataString(query)}{extra}");
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.ReadJsonAsync();
    }

    private static string[] Ids(JsonElement body) => [.. body.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("item_id").GetString()!)];

    private static double[] Prices(JsonElement body) => [.. body.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("price").GetDouble())];

    private int RequestsMentioning(string query) => shop.Fake.Requests.Count(r => RewritingShop.Asks(r.Body, query));

    [Fact]
    public async Task ChineseQuery_RewrittenByTheModel_FiltersByItsPriceAndBoostsItsCategory()
    {
        const string query = "送给妈妈的保湿面霜，两百块以内";
        shop.Answer(query, RewritingShop.Json("""{"categories":["Beauty > Skincare > Face Cream"],"brands":[],"price_min":null,"price_max":200,"keywords":"保湿面霜"}"""));

        var body = await SearchAsync(query);

        var rewrite = body.GetProperty("rewrite");
        Assert.True(rewrite.GetProperty("source").GetString() == "model", rewrite.GetRawText());
        Assert.Equal(RewritingShop.Model, rewrite.GetProperty("model").GetString());
        Assert.False(rewrite.GetProperty("cached").GetBoolean());
        Assert.False(rewrite.TryGetProperty("reason", out _));
        Assert.Equal(200, body.GetProperty("query").GetProperty("price_max").GetDouble());
        Assert.Equal("保湿面霜", body.GetProperty("query").GetProperty("text").GetString());
        Assert.Contains("Beauty > Skincare > Face Cream", body.GetProperty("query").GetProperty("categories").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains("c-1", Ids(body));
        Assert.DoesNotContain("c-2", Ids(body)); // 680: above the model's 200, which the parser cannot read from 两百块
        Assert.All(Prices(body), p => Assert.True(p <= 200));
    }

    [Fact]
    public async Task EnglishQuery_RewrittenByTheModel_FindsTheCategory_AndTheSecondAskIsCached()
    {
        const string query = "a gift for a runner under $50";
        // In a code fence, as chat models like to answer.
        shop.Answer(query, RewritingShop.Json("""
            ```json
            {"categories":["Sports > Running"],"brands":[],"price_min":null,"price_max":50,"keywords":"running"}
            ```
            """));

        var body = await SearchAsync(query);
        var again = await SearchAsync(query);

        Assert.True(body.GetProperty("rewrite").GetProperty("source").GetString() == "model", body.GetProperty("rewrite").GetRawText());
        Assert.Equal("running", body.GetProperty("query").GetProperty("text").GetString());
        var first = body.GetProperty("items")[0];
        Assert.StartsWith("Sports > Running", string.Join(" > ", first.GetProperty("category_path").EnumerateArray().Select(c => c.GetString())), StringComparison.Ordinal);
        Assert.All(Prices(body), p => Assert.True(p <= 50));
        Assert.DoesNotContain("r-3", Ids(body)); // 89
        Assert.True(again.GetProperty("rewrite").GetProperty("cached").GetBoolean());
        Assert.Equal(Ids(body), Ids(again));
        Assert.Equal(1, RequestsMentioning(query));
    }

    [Fact]
    public async Task TheRequest_NamesTheModelAndAsksForJson_WithoutTheShoppersId()
    {
        const string query = "保湿面霜 for my mother, not too pricey";
        const string user = "shopper-rw-7731";
        var posted = await shop.Client.PostAsync("/v1/events", HttpJson.Body(
            $$"""[{"user_id":"{{user}}","type":"purchase","item_id":"c-3","timestamp":"2026-10-01T10:00:00Z"}]"""));
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());
        shop.Answer(query, RewritingShop.Json("""{"categories":["Beauty > Skincare > Face Cream"],"brands":["Olay"],"price_min":null,"price_max":300,"keywords":"保湿面霜"}"""));

        var body = await SearchAsync(query, $"&user={user}");

        Assert.True(body.GetProperty("rewrite").GetProperty("source").GetString() == "model", body.GetProperty("rewrite").GetRawText());
        Assert.True(body.GetProperty("personalized").GetBoolean());
        var (path, authorization, request) = Assert.Single(shop.Fake.Requests, r => RewritingShop.Asks(r.Body, query));
        Assert.Equal("/v1/chat/completions", path);
        Assert.Equal("Bearer sk-rewrite-secret", authorization);
        Assert.Equal(RewritingShop.Model, request.GetProperty("model").GetString());
        Assert.Equal("json_object", request.GetProperty("response_format").GetProperty("type").GetString());
        Assert.Equal(0, request.GetProperty("temperature").GetDouble());
        var stored = shop.App.Engine.UserIds.ToStored(user);
        foreach (var (_, _, sent) in shop.Fake.Requests)
        {
            Assert.DoesNotContain(user, sent.GetRawText(), StringComparison.Ordinal);
            Assert.DoesNotContain(stored, sent.GetRawText(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ASlowEndpoint_TheParserAnswersWithinTheBudget_AndSaysTimeout()
    {
        const string query = "running shoes for trails under 100 yuan please";
        shop.Answer(query, RewritingShop.Json("""{"categories":[],"brands":[],"price_min":null,"price_max":100,"keywords":"running shoes"}""", TimeSpan.FromSeconds(4)));

        var clock = Stopwatch.StartNew();
        var body = await SearchAsync(query);
        var elapsed = clock.Elapsed;

        var rewrite = body.GetProperty("rewrite");
        Assert.Equal("parser", rewrite.GetProperty("source").GetString());
        Assert.StartsWith("timeout", rewrite.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.InRange(rewrite.GetProperty("elapsed_ms").GetDouble(), RewritingShop.BudgetMs - 5, 3_000);
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"the search took {elapsed.TotalMilliseconds:0} ms");
        // The parser's own reading: the price phrase taken out, the rest as typed.
        Assert.Equal(100, body.GetProperty("query").GetProperty("price_max").GetDouble());
        Assert.Equal("running shoes for trails please", body.GetProperty("query").GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("error", """{"categories":[],"brands":[],"price_min":null,"price_max":50,"keywords":"cream"}""", 500, "HTTP 500")]
    [InlineData("malformed", "Sure! Here is what I found: categories = face cream", 200, "not a JSON object")]
    [InlineData("brand", """{"categories":[],"brands":["Chanel"],"price_min":null,"price_max":50,"keywords":"cream"}""", 200, "brand not offered (Chanel)")]
    [InlineData("category", """{"categories":["Beauty > Perfume"],"brands":[],"price_min":null,"price_max":50,"keywords":"cream"}""", 200, "category not offered")]
    [InlineData("prices", """{"categories":[],"brands":[],"price_min":90,"price_max":50,"keywords":"cream"}""", 200, "price_min is above price_max")]
    public async Task AFailedOrUncheckedAnswer_TheParserAnswers_AndSaysWhy(string kind, string answer, int status, string reason)
    {
        var query = $"night cream that smells nice ({kind})";
        shop.Answer(query, status == 200 ? RewritingShop.Json(answer) : new FakeReply(status, """{"error":{"message":"boom","type":"server_error"}}"""));

        var body = await SearchAsync(query);

        var rewrite = body.GetProperty("rewrite");
        Assert.Equal("parser", rewrite.GetProperty("source").GetString());
        Assert.True(rewrite.GetProperty("reason").GetString()!.Contains(reason, StringComparison.Ordinal), rewrite.GetRawText());
        Assert.DoesNotContain("sk-rewrite-secret", rewrite.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(query, body.GetProperty("query").GetProperty("raw").GetString());
        Assert.False(body.GetProperty("query").TryGetProperty("price_max", out _));
        // A rejected answer is not kept: the next search asks again.
        await SearchAsync(query);
        Assert.Equal(2, RequestsMentioning(query));
    }

    [Fact]
    public async Task AShortQuery_IsNotSent()
    {
        var before = shop.Fake.Requests.Count;

        var body = await SearchAsync("保湿 面霜 olay"); // 8 characters without spaces, under the 12 of RewriteMinCharacters

        Assert.False(body.TryGetProperty("rewrite", out _));
        Assert.Equal(before, shop.Fake.Requests.Count);
        Assert.Contains("c-1", Ids(body));
    }

    [Fact]
    public async Task WithoutAnEndpoint_NothingIsSent_AndTheResultsAreTheParsersAsBefore()
    {
        const string query = "送给妈妈的保湿面霜，两百块以内 (plain)";
        await using var plain = new PersonaAppFactory();
        var client = plain.CreateClient();
        await RewritingShop.SeedAsync(plain.Engine);
        shop.Answer(query, new FakeReply(500, """{"error":{"message":"down"}}"""));
        var before = shop.Fake.Requests.Count;

        var today = await (await client.GetAsync($"/v1/search?q={Uri.EscapeDataString(query)}&semantic=false")).ReadJsonAsync();
        Assert.Equal(before, shop.Fake.Requests.Count);
        var fallback = await SearchAsync(query, "&semantic=false");

        Assert.False(today.TryGetProperty("rewrite", out _));
        Assert.Equal("parser", fallback.GetProperty("rewrite").GetProperty("source").GetString());
        Assert.Equal(Ids(today), Ids(fallback));
        Assert.Equal(today.GetProperty("query").GetRawText(), fallback.GetProperty("query").GetRawText());
        Assert.Contains("c-2", Ids(today)); // the parser cannot read 两百块: the 680 cream stays
    }
}
