namespace Persona.Generative.Summaries;

/// <summary>
/// The summary written without a model (no endpoint, a refused answer, a shopper waiting for one): the same facts in
/// fixed sentences, so offline deployments and tests read the same apart from wording.
/// </summary>
public static class ProfileSummaryTemplate
{
    public const string EmptyEn = "Not enough activity yet to describe this shopper.";
    public const string EmptyZh = "该用户的行为尚少，暂无法描述。";

    public static SummaryText Write(SummaryFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        var en = new List<string>();
        var zh = new List<string>();
        var claims = new List<string>();

        var interests = facts.Tags.Where(t => t.Kind is "category" or "brand").ToList();
        if (interests.Count > 0)
        {
            en.Add(Sentence(string.Join("; ", interests.Select(t => t.En))));
            zh.Add(string.Join("；", interests.Select(t => t.Zh)) + "。");
            claims.AddRange(interests.Select(t => t.Key));
        }
        var traits = facts.Tags.Where(t => t.Kind is not ("category" or "brand")).ToList();
        if (traits.Count > 0)
        {
            en.Add(Sentence(JoinEnglish(traits.Select((t, i) => i == 0 ? t.En : LowerFirst(t.En)).ToList())));
            zh.Add(string.Join("，", traits.Select(t => t.Zh)) + "。");
            claims.AddRange(traits.Select(t => t.Key));
        }
        return en.Count == 0
            ? new SummaryText(EmptyEn, EmptyZh, [])
            : new SummaryText(string.Join(" ", en), string.Join("", zh), claims);
    }

    private static string Sentence(string text) => text.EndsWith('.') ? text : text + ".";

    private static string JoinEnglish(IReadOnlyList<string> parts) =>
        parts.Count == 1 ? parts[0] : string.Join(", ", parts.Take(parts.Count - 1)) + " and " + parts[^1];

    // "Night owl" inside a list reads "night owl"; a label that starts with a name ("CeraVe fan") keeps its capital.
    private static string LowerFirst(string label) =>
        label.Length > 1 && char.IsUpper(label[0]) && !char.IsUpper(label[1]) ? char.ToLowerInvariant(label[0]) + label[1..] : label;
}
