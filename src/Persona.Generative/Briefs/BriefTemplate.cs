using System.Globalization;
using Persona.Generative.Summaries;

namespace Persona.Generative.Briefs;

/// <summary>The brief written without a model: the group's name as it is, and its dominant tags with their shares.</summary>
public static class BriefTemplate
{
    public static BriefText Write(BriefFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        var top = facts.Tags.Take(3).ToList();
        var nameEn = facts.NameEn ?? (top.Count > 0 ? string.Join(" · ", top.Take(2).Select(t => t.En)) : "Shoppers");
        var nameZh = facts.NameZh ?? (top.Count > 0 ? string.Join("·", top.Take(2).Select(t => t.Zh)) : "用户群");
        if (top.Count == 0)
            return new BriefText(nameEn, nameZh, "No tag is shared by a fifth of these shoppers yet.", "尚无被五分之一以上成员共有的标签。", []);
        var c = CultureInfo.InvariantCulture;
        var en = string.Join(", ", top.Select(t => string.Create(c, $"“{t.En}” ({Math.Round(t.Confidence * 100)}%)")));
        var zh = string.Join("、", top.Select(t => string.Create(c, $"“{t.Zh}”（{Math.Round(t.Confidence * 100)}%）")));
        return new BriefText(nameEn, nameZh,
            $"Mostly shoppers tagged {en}.",
            $"以{zh}的用户为主。",
            top.Select(t => t.Key).ToList());
    }
}
