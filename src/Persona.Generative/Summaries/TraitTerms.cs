namespace Persona.Generative.Summaries;

/// <summary>
/// The words that state each trait tag (the profile's tag rules, <c>ProfileBuilder</c>): a summary may use a trait's
/// words only when the profile holds that tag, and a sentence that uses them is traced to it.
/// </summary>
public static class TraitTerms
{
    /// <summary>Tag key to its English and Chinese wordings (lower case for English; matched case-insensitively).</summary>
    public static IReadOnlyDictionary<string, (string[] En, string[] Zh)> ByTag { get; } = new Dictionary<string, (string[], string[])>(StringComparer.Ordinal)
    {
        ["price:high_power"] = (["purchasing power", "high-end", "premium", "big spender", "high spender"], ["高消费", "消费力", "高端"]),
        ["price:budget"] = (["budget", "affordable", "low-priced", "inexpensive"], ["平价", "低价", "实惠"]),
        ["price:sensitive"] = (["price sensitive", "price-sensitive", "bargain", "deal hunter", "discount"], ["价格敏感", "优惠", "折扣", "性价比"]),
        ["lifecycle:new"] = (["new customer", "new shopper", "newly joined", "recently joined"], ["新用户", "新客", "新顾客"]),
        ["lifecycle:at_risk"] = (["at risk", "at-risk", "drifting away", "losing interest"], ["流失风险", "有流失"]),
        ["lifecycle:churned"] = (["churned", "lapsed", "no longer active", "stopped shopping"], ["已流失", "流失用户"]),
        ["value:high"] = (["high value", "high-value", "valuable customer", "top customer", "vip"], ["高价值", "重要客户"]),
        ["activity:high"] = (["highly active", "very active", "frequent visitor", "visits often"], ["高活跃", "非常活跃", "频繁"]),
        ["device:mobile"] = (["mobile", "phone", "smartphone"], ["移动端", "手机"]),
        ["time:night_owl"] = (["night owl", "late at night", "at night", "late-night", "late night"], ["夜猫子", "深夜", "夜间"]),
        ["time:weekend"] = (["weekend"], ["周末"]),
    };
}
