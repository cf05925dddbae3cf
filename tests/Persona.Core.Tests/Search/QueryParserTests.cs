using Persona.Abstractions;
using Persona.Core.Search;

namespace Persona.Core.Tests.Search;

public sealed class QueryParserTests
{
    [Theory]
    [InlineData("lipstick under 100", 100.0, "lipstick")]
    [InlineData("serum below $50", 50.0, "serum")]
    [InlineData("less than 30 dollars shampoo", 30.0, "shampoo")]
    [InlineData("口红 100元以下", 100.0, "口红")]
    [InlineData("不超过200元的面霜", 200.0, "的面霜")]
    [InlineData("面膜５０元以内", 50.0, "面膜")]
    public void Parse_PriceCeiling_BothLanguages(string query, double max, string text)
    {
        var parsed = QueryParser.Parse(query);

        Assert.Equal(max, parsed.PriceMax);
        Assert.Null(parsed.PriceMin);
        Assert.Equal(text, parsed.Text);
    }

    [Theory]
    [InlineData("perfume over 80", 80.0, null)]
    [InlineData("香水 300元以上", 300.0, null)]
    [InlineData("between 20 and 50 mascara", 20.0, 50.0)]
    [InlineData("面霜 50-100元", 50.0, 100.0)]
    [InlineData("toner $10 - $25", 10.0, 25.0)]
    public void Parse_PriceFloorAndRange_BothLanguages(string query, double min, double? max)
    {
        var parsed = QueryParser.Parse(query);

        Assert.Equal(min, parsed.PriceMin);
        Assert.Equal(max, parsed.PriceMax);
    }

    [Theory]
    [InlineData("cheap lipstick", PricePreference.Low, "lipstick")]
    [InlineData("便宜的口红", PricePreference.Low, "的口红")]
    [InlineData("luxury perfume", PricePreference.High, "perfume")]
    [InlineData("高端面霜", PricePreference.High, "面霜")]
    [InlineData("iphone15 case", PricePreference.None, "iphone15 case")]
    public void Parse_PricePreference_BothLanguages(string query, PricePreference preference, string text)
    {
        var parsed = QueryParser.Parse(query);

        Assert.Equal(preference, parsed.PricePreference);
        Assert.Equal(text, parsed.Text);
        Assert.Null(parsed.PriceMax);
    }

    [Fact]
    public void Parse_ModelNumbers_AreNotPrices() =>
        Assert.Null(QueryParser.Parse("15.6寸 笔记本 i7").PriceMax);

    private static readonly QueryVocabulary Vocabulary = QueryVocabulary.Empty.With(
    [
        new Item { Id = "1", Title = "Rouge", Brand = "Lancome", CategoryPath = ["Makeup", "Lips", "Lipstick"], Attributes = new Dictionary<string, string> { ["brand_zh"] = "兰蔻", ["category_path_zh"] = "彩妆 > 唇部 > 口红" } },
        new Item { Id = "2", Title = "Nail lacquer", Brand = "OPI", CategoryPath = ["Makeup", "Nails", "Nail Polish"] },
    ]);

    [Theory]
    [InlineData("lancome lipsticks", "Lancome", "Makeup > Lips > Lipstick")]
    [InlineData("兰蔻口红", "Lancome", "Makeup > Lips > Lipstick")]
    [InlineData("ＯＰＩ nail polishes", "OPI", "Makeup > Nails > Nail Polish")]
    public void Parse_BrandAndCategoryMentions_BothLanguages(string query, string brand, string deepestCategory)
    {
        var parsed = QueryParser.Parse(query, Vocabulary);

        Assert.Equal([brand], parsed.Brands);
        Assert.Equal(deepestCategory, parsed.Categories[0]);
    }

    [Fact]
    public void Parse_NoMention_NoBrandOrCategory()
    {
        var parsed = QueryParser.Parse("shampoo", Vocabulary);

        Assert.Empty(parsed.Brands);
        Assert.Empty(parsed.Categories);
    }
}
