namespace Persona.Text.Tests;

public sealed class TextAnalyzerTests
{
    [Fact]
    public void Analyze_Chinese_EmitsUnigramsAndBigrams() =>
        Assert.Equal(["口", "口红", "红", "红色", "色"], TextAnalyzer.Analyze("口红色"));

    [Fact]
    public void Analyze_English_StemsAndDropsStopWords() =>
        Assert.Equal(["brush", "set", "curl", "hair"], TextAnalyzer.Analyze("Brushes and Sets for Curling Hair"));

    [Fact]
    public void Analyze_ModelNumbersAndDecimals_KeptWhole() =>
        Assert.Equal(["iphone15", "pro", "15.6", "寸"], TextAnalyzer.Analyze("iPhone15 Pro 15.6寸"));

    [Fact]
    public void Analyze_MixedText_OnePass() =>
        Assert.Equal(["nike", "运", "运动", "动", "动鞋", "鞋", "air", "max", "270"], TextAnalyzer.Analyze("Nike运动鞋 Air-Max 270"));

    [Fact]
    public void Analyze_FullWidth_SameAsHalfWidth() =>
        Assert.Equal(TextAnalyzer.Analyze("iPhone15 手机壳 100元"), TextAnalyzer.Analyze("ｉＰｈｏｎｅ１５　手机壳　１００元"));

    [Fact]
    public void Analyze_Possessive_Stripped() =>
        Assert.Equal(["women", "loreal"], TextAnalyzer.Analyze("Women's L'Oreal"));

    [Theory]
    [InlineData("polishes", "polish")]
    [InlineData("lashes", "lash")]
    [InlineData("glasses", "glass")]
    [InlineData("bodies", "body")]
    [InlineData("styling", "style")]
    [InlineData("moisturizing", "moisturize")]
    [InlineData("scented", "scent")]
    [InlineData("gloss", "gloss")]
    [InlineData("mascara", "mascara")]
    [InlineData("need", "need")]
    public void Stem_CommonProductWords_Expected(string word, string stem) =>
        Assert.Equal(stem, EnglishStemmer.Stem(word));

    [Fact]
    public void Stem_IsIdempotentOnItsOutput_ForPlurals()
    {
        // Stemming a stem of a plain plural changes nothing more: "brushes" → "brush" → "brush".
        foreach (var w in new[] { "brushes", "creams", "lotions", "palettes", "bodies", "curls" })
        {
            var once = EnglishStemmer.Stem(w);
            Assert.Equal(once, EnglishStemmer.Stem(once));
        }
    }
}
