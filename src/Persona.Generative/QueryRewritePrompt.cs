using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Persona.Generative;

/// <summary>A catalog category the model may name: its key (<c>Beauty &gt; Skincare</c>) and, when the catalog has one, its Chinese path.</summary>
public sealed record RewriteCategory(string Key, string? KeyZh = null);

/// <summary>A brand the model may name: the catalog's spelling and, when the catalog has one, its Chinese name.</summary>
public sealed record RewriteBrand(string Name, string? NameZh = null);

/// <summary>
/// The catalog words a rewrite may use, and nothing else: categories by key and brands by their catalog spelling. Kept
/// small by the caller (the prompt's size is the endpoint's latency).
/// </summary>
public sealed record RewriteVocabulary(IReadOnlyList<RewriteCategory> Categories, IReadOnlyList<RewriteBrand> Brands);

/// <summary>A checked rewrite: category keys and brands as the vocabulary spells them, a price range, and the words to match.</summary>
public sealed record QueryIntent(IReadOnlyList<string> Categories, IReadOnlyList<string> Brands, double? PriceMin, double? PriceMax, string Keywords);

/// <summary>The check of an answer: the intent when it passed, else why it did not (in words safe to show).</summary>
public sealed record RewriteCheck(QueryIntent? Intent, string? Problem)
{
    public bool Accepted => Intent is not null;
}

/// <summary>
/// Query rewriting's prompt and answer check (docs/generative.md, step 3). Only the query text and the catalog's
/// vocabulary are sent, never who is searching. The answer is accepted only as JSON
/// <c>{"categories", "brands", "price_min", "price_max", "keywords"}</c> naming nothing outside the vocabulary: an
/// invented brand or category rejects the whole answer, because a model that invents one may have misread the rest too.
/// </summary>
public static class QueryRewritePrompt
{
    /// <summary>The longest keywords accepted (characters).</summary>
    public const int MaxKeywordsLength = 120;

    /// <summary>The most categories or brands one answer may name.</summary>
    public const int MaxNamed = 8;

    /// <summary>Enough for the JSON object with a few names; a longer answer is cut and fails the check.</summary>
    public const int MaxOutputTokens = 200;

    private static readonly string Instructions =
        "You turn a shopper's search query for an online shop into structured intent. Answer with one JSON object and nothing else: " +
        "{\"categories\": [category keys], \"brands\": [brand names], \"price_min\": number or null, \"price_max\": number or null, \"keywords\": \"words to match product titles\"}. " +
        "Rules: use only category keys and brand names from the lists given, copied exactly (a key, not its Chinese path); " +
        $"leave a list empty when nothing fits; name at most {MaxNamed} of each. " +
        "Prices are plain numbers in the shop's currency (\"两百块\" is 200, \"under $50\" is price_max 50). " +
        "keywords: the product words of the query, without prices, brands already listed, or filler such as 'gift for'; in the query's language; never empty.";


    /// <summary>The chat settings: JSON answers, no randomness, a short answer.</summary>
    public static ChatOptions ChatOptions() => new()
    {
        ResponseFormat = ChatResponseFormat.Json,
        Temperature = 0,
        MaxOutputTokens = MaxOutputTokens,
    };

    /// <summary>The system and user messages for <paramref name="query"/> over <paramref name="vocabulary"/>.</summary>
    /// <param name="query">The shopper's query as typed.</param>
    /// <param name="vocabulary">The categories and brands the answer may name.</param>
    public static IReadOnlyList<ChatMessage> Messages(string query, RewriteVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(vocabulary);
        var user = new StringBuilder();
        user.Append("Categories (key | Chinese path):\n");
        foreach (var c in vocabulary.Categories) user.Append(c.Key).Append(c.KeyZh is { } zh ? " | " + zh : "").Append('\n');
        user.Append("\nBrands (name | Chinese name):\n");
        foreach (var b in vocabulary.Brands) user.Append(b.Name).Append(b.NameZh is { } zh ? " | " + zh : "").Append('\n');
        // The query last and quoted as JSON, so its text cannot pass for an instruction or a list entry.
        user.Append("\nQuery: ").Append(JsonSerializer.Serialize(query.Trim(), PromptJson.Options));
        return [new ChatMessage(ChatRole.System, Instructions), new ChatMessage(ChatRole.User, user.ToString())];
    }

    /// <summary>Checks an answer against the vocabulary that was sent.</summary>
    /// <param name="answer">The model's text.</param>
    /// <param name="vocabulary">The vocabulary the prompt offered.</param>
    public static RewriteCheck Check(string? answer, RewriteVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (JsonAnswer.TryReadObject(answer) is not { } json) return Rejected("the answer is not a JSON object");
        var categoryNames = JsonAnswer.Strings(json, "categories");
        var brandNames = JsonAnswer.Strings(json, "brands");
        if (json.TryGetProperty("categories", out _) && categoryNames is null) return Rejected("categories is not a list of strings");
        if (json.TryGetProperty("brands", out _) && brandNames is null) return Rejected("brands is not a list of strings");
        if (categoryNames?.Count > MaxNamed || brandNames?.Count > MaxNamed) return Rejected($"the answer names more than {MaxNamed} categories or brands");

        var categories = new List<string>();
        var byCategory = Lookup(vocabulary.Categories.SelectMany(c => Names(c.Key, c.KeyZh, c.Key)));
        foreach (var name in categoryNames ?? [])
        {
            if (!byCategory.TryGetValue(Fold(name), out var key)) return Rejected($"the answer names a category not offered ({Shorten(name)})");
            if (!categories.Contains(key)) categories.Add(key);
        }
        var brands = new List<string>();
        var byBrand = Lookup(vocabulary.Brands.SelectMany(b => Names(b.Name, b.NameZh, b.Name)));
        foreach (var name in brandNames ?? [])
        {
            if (!byBrand.TryGetValue(Fold(name), out var brand)) return Rejected($"the answer names a brand not offered ({Shorten(name)})");
            if (!brands.Contains(brand)) brands.Add(brand);
        }

        if (!TryPrice(json, "price_min", out var min, out var problem) || !TryPrice(json, "price_max", out var max, out problem)) return Rejected(problem!);
        if (min > max) return Rejected("price_min is above price_max");
        if (JsonAnswer.String(json, "keywords") is not { } keywords) return Rejected("keywords is missing or empty");
        if (keywords.Length > MaxKeywordsLength) return Rejected($"keywords is longer than {MaxKeywordsLength} characters");
        return new RewriteCheck(new QueryIntent(categories, brands, min, max, keywords), null);
    }

    private static RewriteCheck Rejected(string problem) => new(null, problem);

    private static IEnumerable<(string Name, string Value)> Names(string name, string? other, string value) =>
        other is null ? [(name, value)] : [(name, value), (other, value)];

    /// <summary>Names folded (case, width, spaces around separators) to what they stand for; a name two entries share keeps the first.</summary>
    private static Dictionary<string, string> Lookup(IEnumerable<(string Name, string Value)> names)
    {
        var lookup = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in names) lookup.TryAdd(Fold(name), value);
        return lookup;
    }

    private static string Fold(string name)
    {
        var folded = new StringBuilder(name.Length);
        foreach (var part in name.Normalize(NormalizationForm.FormKC).Split('>'))
        {
            if (folded.Length > 0) folded.Append('>');
            folded.Append(string.Join(' ', part.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant());
        }
        return folded.ToString();
    }

    private static bool TryPrice(JsonElement json, string name, out double? price, out string? problem)
    {
        price = null;
        problem = null;
        if (!json.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return true;
        if (JsonAnswer.Number(json, name) is not { } number || !double.IsFinite(number))
        {
            problem = $"{name} is not a number";
            return false;
        }
        if (number < 0)
        {
            problem = $"{name} is negative";
            return false;
        }
        price = number;
        return true;
    }

    private static string Shorten(string text) =>
        text.Length <= 40 ? text : string.Create(CultureInfo.InvariantCulture, $"{text[..40]}…");
}
