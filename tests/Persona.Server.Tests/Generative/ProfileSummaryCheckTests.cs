using System.Text.Json;
using Persona.Generative.Summaries;

namespace Persona.Server.Tests.Generative;

/// <summary>What a model's profile summary must satisfy to be shown, and the template that answers otherwise.</summary>
public sealed class ProfileSummaryCheckTests
{
    private static readonly FactTag Lipstick = new("category:Beauty > Makeup > Lipstick", "category", "Likes Lipstick", "偏好 口红", 0.8);
    private static readonly FactTag Acme = new("brand:Acme", "brand", "Loyal to Acme", "忠于 Acme", 0.7);
    private static readonly FactTag NightOwl = new("time:night_owl", "time", "Night owl", "夜猫子", 0.6);
    private static readonly FactTag HighPower = new("price:high_power", "price", "High purchasing power", "高消费力", 0.5);
    private static readonly FactTag Churned = new("lifecycle:churned", "lifecycle", "Churned", "已流失", 0.9);
    private static readonly FactTag Mobile = new("device:mobile", "device", "Mostly mobile", "移动端为主", 0.5);

    private static readonly SummaryVocabulary Catalog = SummaryVocabulary.Create(
        ["Beauty", "美妆", "Makeup", "彩妆", "Lipstick", "口红", "Skin Care", "护肤", "Moisturizer", "面霜", "Mobile Phones", "手机通讯"],
        ["Acme", "Zenith", "Fresh", "芙丽芳丝"]);

    private static SummaryFacts Facts(params FactTag[] tags) => new(
        tags,
        [new FactLabel("Lipstick", "口红", 0.7), new FactLabel("Makeup", "彩妆", 0.8), new FactLabel("Beauty", "美妆", 1)],
        [new FactLabel("Acme", "Acme", 0.9)],
        ["Acme Velvet Matte Lipstick 3.5g"]);

    private static string Answer(string en, string zh, params string[] claims) => JsonSerializer.Serialize(new { en, zh, claims });

    [Fact]
    public void AnAnswerThatRestsOnTheTags_IsAccepted_EvenInCodeFences()
    {
        var facts = Facts(Lipstick, Acme, NightOwl);
        var answer = "```json\n" + Answer(
            "A lipstick lover who keeps coming back to Acme. Shops mostly late at night.",
            "钟爱口红，忠于 Acme。夜猫子，常在深夜购物。",
            Lipstick.Key, Acme.Key, NightOwl.Key) + "\n```";

        var verdict = ProfileSummaryCheck.Check(answer, facts, Catalog);

        Assert.Null(verdict.Rejection);
        Assert.Equal([Lipstick.Key, Acme.Key, NightOwl.Key], verdict.Accepted!.Claims);
    }

    [Theory]
    [InlineData("not json at all", "not a JSON object")]
    [InlineData("""{"en":"Likes Lipstick.","claims":[]}""", "lacks the English or the Chinese")]
    [InlineData("""{"en":"Likes Lipstick.","zh":"偏好 口红。"}""", "lacks its claims")]
    [InlineData("""{"en":"Likes Lipstick.","zh":"偏好 口红。","claims":["value:high"]}""", "claims the tag 'value:high'")]
    [InlineData("""{"en":"Likes Lipstick and Skin Care.","zh":"偏好 口红。","claims":[]}""", "names 'Skin Care'")]
    [InlineData("""{"en":"Likes Lipstick.","zh":"偏好口红和护肤。","claims":[]}""", "names '护肤'")]
    [InlineData("""{"en":"Likes Lipstick, also buys Zenith.","zh":"偏好 口红。","claims":[]}""", "names 'Zenith'")]
    [InlineData("""{"en":"Likes Lipstick and is a VIP.","zh":"偏好 口红。","claims":[]}""", "(value:high)")]
    [InlineData("""{"en":"Likes Lipstick. A big spender.","zh":"偏好 口红。","claims":[]}""", "(price:high_power)")]
    [InlineData("""{"en":"Likes Lipstick.","zh":"偏好 口红，已流失。","claims":[]}""", "(lifecycle:churned)")]
    [InlineData("""{"en":"Likes Lipstick. Probably a young woman in Shanghai.","zh":"偏好 口红。","claims":[]}""", "sentence 2 of the English")]
    public void AnAnswerThatInventsOrDoesNotParse_IsRejected_SayingWhy(string answer, string why)
    {
        var verdict = ProfileSummaryCheck.Check(answer, Facts(Lipstick, Acme, NightOwl), Catalog);

        Assert.Null(verdict.Accepted);
        Assert.Contains(why, verdict.Rejection, StringComparison.Ordinal);
    }

    [Fact]
    public void HeldNamesShadowTheWordsInside_AndBrandsMatchInTheirOwnCase()
    {
        // "Mobile" inside the held category "Mobile Phones" is not the trait "mostly mobile"; "fresh" the word is not the brand Fresh.
        var facts = new SummaryFacts([new FactTag("category:Electronics > Mobile Phones", "category", "Likes Mobile Phones", "偏好 手机通讯", 0.8)],
            [new FactLabel("Mobile Phones", "手机通讯", 1)], [], []);
        var answer = Answer("Likes Mobile Phones and always wants the fresh models.", "偏好 手机通讯。", "category:Electronics > Mobile Phones");

        var verdict = ProfileSummaryCheck.Check(answer, facts, Catalog);

        Assert.Null(verdict.Rejection);
        Assert.Contains("'Fresh'", ProfileSummaryCheck.Check(Answer("Likes Mobile Phones and Fresh.", "偏好 手机通讯。"), facts, Catalog).Rejection, StringComparison.Ordinal);
    }

    /// <summary>Whatever a profile holds, the template's own wording passes the checks a model's must pass.</summary>
    [Fact]
    public void TheTemplate_AlwaysPassesTheCheck()
    {
        FactTag[] pool = [Lipstick, Acme, NightOwl, HighPower, Churned, Mobile,
            new("time:weekend", "time", "Weekend shopper", "周末购物者", 0.4), new("value:high", "value", "High value", "高价值", 0.9),
            new("price:sensitive", "price", "Price sensitive", "价格敏感", 0.5), new("activity:high", "activity", "Highly active", "高活跃", 0.7)];
        var random = new Random(19);
        for (var run = 0; run < 300; run++)
        {
            var tags = pool.Where(_ => random.Next(3) == 0).ToArray();
            if (tags.Length == 0) continue;
            var facts = Facts(tags);
            var text = ProfileSummaryTemplate.Write(facts);

            var verdict = ProfileSummaryCheck.Check(Answer(text.En, text.Zh, [.. text.Claims]), facts, Catalog);

            Assert.True(verdict.Rejection is null, $"{string.Join(", ", tags.Select(t => t.Key))}: {verdict.Rejection}\n{text.En}\n{text.Zh}");
            Assert.Equal(tags.Select(t => t.Key).Order(), text.Claims.Order());
        }
    }

    [Fact]
    public void TheTemplate_ReadsAsSentences_InBothLanguages()
    {
        var text = ProfileSummaryTemplate.Write(Facts(Lipstick, Acme, NightOwl, HighPower, Mobile));

        Assert.Equal("Likes Lipstick; Loyal to Acme. Night owl, high purchasing power and mostly mobile.", text.En);
        Assert.Equal("偏好 口红；忠于 Acme。夜猫子，高消费力，移动端为主。", text.Zh);
        Assert.Equal(ProfileSummaryTemplate.EmptyEn, ProfileSummaryTemplate.Write(Facts()).En);
    }

    [Fact]
    public void TheSignature_ChangesWithTheTagSet_NotWithConfidenceOrOrder()
    {
        Assert.Equal(Facts(Lipstick, NightOwl).Signature, Facts(NightOwl, Lipstick with { Confidence = 0.1 }).Signature);
        Assert.NotEqual(Facts(Lipstick, NightOwl).Signature, Facts(Lipstick).Signature);
    }

    [Fact]
    public void ThePrompt_CarriesLabelsAndTitles_AndNoEvidenceIds()
    {
        var messages = ProfileSummaryPrompt.Messages(Facts(Lipstick, Acme));

        Assert.Equal(2, messages.Count);
        var user = JsonDocument.Parse(messages[1].Text).RootElement;
        Assert.Equal(["category:Beauty > Makeup > Lipstick", "brand:Acme"], user.GetProperty("tags").EnumerateArray().Select(t => t.GetProperty("key").GetString()));
        Assert.Equal("Acme Velvet Matte Lipstick 3.5g", user.GetProperty("item_titles")[0].GetString());
        Assert.DoesNotContain("evidence", messages[1].Text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("偏好 口红", messages[1].Text, StringComparison.Ordinal);
    }
}
