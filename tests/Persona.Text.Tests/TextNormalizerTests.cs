namespace Persona.Text.Tests;

public sealed class TextNormalizerTests
{
    [Fact]
    public void Normalize_FullWidthAndCase_FoldsToHalfWidthLower() =>
        Assert.Equal("iphone15 100元", TextNormalizer.Normalize("ＩＰｈｏｎｅ１５　１００元"));
}
