using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Persona.Generative.Summaries;

/// <summary>The request for a profile summary: fixed instructions and the facts as JSON, nothing else.</summary>
public static class ProfileSummaryPrompt
{
    public const string Instructions =
        """
        You write short summaries of online shoppers for a shop's analysts, in English and in Simplified Chinese.
        Use only the facts in the user's message: its tags, categories, brands and item titles. Do not add anything else:
        no other categories, brands, products or traits, no guesses about age, gender, family, income or location.
        Write at most three sentences per language. Every sentence must use at least one of the given labels exactly as
        written (English labels in English, Chinese labels in Chinese).
        Answer with one JSON object and nothing else:
        {"en": "<English summary>", "zh": "<中文摘要>", "claims": ["<key of every tag your sentences rest on>"]}
        """;

    public static IReadOnlyList<ChatMessage> Messages(SummaryFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        var payload = new
        {
            tags = facts.Tags.Select(t => new { key = t.Key, kind = t.Kind, en = t.En, zh = t.Zh, confidence = t.Confidence }),
            categories = facts.Categories.Select(c => new { en = c.En, zh = c.Zh, share = c.Share }),
            brands = facts.Brands.Select(b => new { en = b.En, zh = b.Zh, share = b.Share }),
            item_titles = facts.Titles,
        };
        return
        [
            new ChatMessage(ChatRole.System, Instructions),
            new ChatMessage(ChatRole.User, JsonSerializer.Serialize(payload, PromptJson.Options)),
        ];
    }

    public static ChatOptions Options { get; } = new() { Temperature = 0.2f, MaxOutputTokens = 400, ResponseFormat = ChatResponseFormat.Json };
}
