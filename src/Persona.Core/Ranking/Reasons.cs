using Persona.Abstractions;

namespace Persona.Core.Ranking;

/// <summary>The bilingual sentences results carry; each names the real item or category behind it.</summary>
public static class Reasons
{
    public static Reason OftenBoughtAfter(CatalogEntry anchor) =>
        new($"Often bought after {anchor.TitleEn}", $"常在购买「{anchor.TitleZh}」后购买");

    public static Reason SimilarToYour(CatalogEntry anchor, EventType type)
    {
        var (en, zh) = type switch
        {
            EventType.Purchase => ("bought", "购买过"),
            EventType.AddToCart => ("added to your cart", "加入购物车"),
            EventType.Favorite => ("saved", "收藏过"),
            EventType.Rate or EventType.Review => ("reviewed", "评价过"),
            _ => ("viewed", "浏览过"),
        };
        return new($"Similar to {anchor.TitleEn} you {en}", $"与你{zh}的「{anchor.TitleZh}」相似");
    }

    public static Reason SimilarTo(CatalogEntry anchor) => new($"Similar to {anchor.TitleEn}", $"与「{anchor.TitleZh}」相似");

    public static Reason FromRecentActivity() => new("Picked for you from your recent activity", "根据你最近的浏览为你推荐");

    public static Reason MatchesInterest(string labelEn, string labelZh) =>
        new($"Matches your interest in {labelEn}", $"符合你对{labelZh}的兴趣");

    public static Reason PopularIn(string? labelEn, string? labelZh) =>
        labelEn is null ? new("Popular right now", "当前热销") : new($"Popular in {labelEn}", $"{labelZh ?? labelEn}热销");

    public static Reason PopularWithShoppersLikeYou(string groupEn, string groupZh) =>
        new($"Popular with shoppers like you ({groupEn})", $"与你相似的顾客（{groupZh}）常买");
}
