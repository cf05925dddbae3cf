using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Persona.Generative.Briefs;

/// <summary>The request for a segment's or audience's name and brief: fixed instructions and the facts as JSON.</summary>
public static class BriefPrompt
{
    public const string Instructions =
        """
        You name groups of online shoppers for a shop's marketers and write a one-line brief for each, in English and in
        Simplified Chinese. Use only the facts in the user's message: the group's dominant tags and categories and the
        share of its members holding each. Do not add other categories, brands or traits, and no guesses about age,
        gender, family, income or location.
        The name: at most 5 words (English) or 12 characters (Chinese). The brief: one sentence that says who they are and
        what to offer them, using at least one of the given labels exactly as written.
        Answer with one JSON object and nothing else:
        {"name_en": "...", "name_zh": "...", "brief_en": "...", "brief_zh": "...", "claims": ["<key of every tag the brief rests on>"]}
        """;

    public static IReadOnlyList<ChatMessage> Messages(BriefFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        var payload = new
        {
            group = facts.Kind,
            current_name = facts.NameEn is null ? null : new { en = facts.NameEn, zh = facts.NameZh ?? facts.NameEn },
            tags = facts.Tags.Select(t => new { key = t.Key, en = t.En, zh = t.Zh, share_of_members = t.Confidence }),
            categories = facts.Categories.Select(c => new { en = c.En, zh = c.Zh, share_of_members = c.Share }),
        };
        return
        [
            new ChatMessage(ChatRole.System, Instructions),
            new ChatMessage(ChatRole.User, JsonSerializer.Serialize(payload, PromptJson.Options)),
        ];
    }

    public static ChatOptions Options { get; } = new() { Temperature = 0.3f, MaxOutputTokens = 300, ResponseFormat = ChatResponseFormat.Json };
}
