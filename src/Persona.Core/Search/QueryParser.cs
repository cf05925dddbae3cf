using System.Globalization;
using System.Text.RegularExpressions;
using Persona.Text;

namespace Persona.Core.Search;

/// <summary>
/// Query understanding in Chinese and English: price bounds ("under 100", "below $50", "100元以下", "不超过200",
/// "between 20 and 50", "50-100元"), price preferences ("cheap", "便宜", "luxury", "高端"), and brand and category
/// mentions looked up in a <see cref="QueryVocabulary"/>. Runs on the normalised text, so full-width digits and
/// symbols parse too.
/// </summary>
public static partial class QueryParser
{
    private const string Number = @"(\d+(?:\.\d+)?)";
    private const string Currency = @"(?:\s*(?:元|块钱|块|rmb|yuan|usd|dollars?|\$|¥))?";

    [GeneratedRegex(@"\bbetween\s*[$¥]?\s*" + Number + @"\s*(?:and|-|to)\s*[$¥]?\s*" + Number + Currency, RegexOptions.CultureInvariant)]
    private static partial Regex EnglishRange();

    [GeneratedRegex(@"[$¥]\s*" + Number + @"\s*(?:-|~|to)\s*[$¥]?\s*" + Number + "|" + Number + @"\s*(?:-|~|到|至)\s*" + Number + @"\s*(?:元|块钱|块)", RegexOptions.CultureInvariant)]
    private static partial Regex CurrencyRange();

    [GeneratedRegex(@"(?:\b(?:under|below|less\s+than|cheaper\s+than|up\s+to|within|at\s+most|no\s+more\s+than|max(?:imum)?)\b|<=?)\s*[$¥]?\s*" + Number + Currency, RegexOptions.CultureInvariant)]
    private static partial Regex EnglishMax();

    [GeneratedRegex(@"(?:\b(?:over|above|more\s+than|at\s+least|min(?:imum)?)\b|>=?)\s*[$¥]?\s*" + Number + Currency, RegexOptions.CultureInvariant)]
    private static partial Regex EnglishMin();

    [GeneratedRegex(@"(?:低于|不超过|不到|少于|小于|不高于)\s*" + Number + @"\s*(?:元|块钱|块)?|" + Number + @"\s*(?:元|块钱|块)?\s*(?:以下|以内|之内)", RegexOptions.CultureInvariant)]
    private static partial Regex ChineseMax();

    [GeneratedRegex(@"(?:高于|超过|大于|不低于)\s*" + Number + @"\s*(?:元|块钱|块)?|" + Number + @"\s*(?:元|块钱|块)?\s*以上", RegexOptions.CultureInvariant)]
    private static partial Regex ChineseMin();

    [GeneratedRegex(@"\b(?:cheap(?:est)?|budget|inexpensive|affordable|bargain|low[\s-]+cost)\b|便宜|实惠|平价|低价|性价比高?", RegexOptions.CultureInvariant)]
    private static partial Regex LowWords();

    [GeneratedRegex(@"\b(?:luxury|luxurious|premium|high[\s-]+end|upscale)\b|高端|奢侈|奢华|大牌", RegexOptions.CultureInvariant)]
    private static partial Regex HighWords();

    [GeneratedRegex(@"\s{2,}", RegexOptions.CultureInvariant)]
    private static partial Regex Spaces();

    /// <summary>Parses <paramref name="query"/>; with no vocabulary, brands and categories are left empty.</summary>
    public static ParsedQuery Parse(string query, QueryVocabulary? vocabulary = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        var text = TextNormalizer.Normalize(query);
        double? min = null, max = null;

        text = EnglishRange().Replace(text, m => Range(m.Groups[1].Value, m.Groups[2].Value, ref min, ref max));
        text = CurrencyRange().Replace(text, m => m.Groups[1].Success
            ? Range(m.Groups[1].Value, m.Groups[2].Value, ref min, ref max)
            : Range(m.Groups[3].Value, m.Groups[4].Value, ref min, ref max));
        text = EnglishMax().Replace(text, m => Bound(m, ref max, lower: false));
        text = ChineseMax().Replace(text, m => Bound(m, ref max, lower: false));
        text = EnglishMin().Replace(text, m => Bound(m, ref min, lower: true));
        text = ChineseMin().Replace(text, m => Bound(m, ref min, lower: true));

        var preference = PricePreference.None;
        if (LowWords().IsMatch(text))
        {
            preference = PricePreference.Low;
            text = LowWords().Replace(text, " ");
        }
        else if (HighWords().IsMatch(text))
        {
            preference = PricePreference.High;
            text = HighWords().Replace(text, " ");
        }
        text = Spaces().Replace(text, " ").Trim();
        var (brands, categories) = vocabulary?.Find(text) ?? ([], []);
        return new ParsedQuery
        {
            Raw = query,
            Text = text,
            PriceMin = min,
            PriceMax = max,
            PricePreference = preference,
            Brands = brands,
            Categories = categories,
        };
    }

    private static string Range(string a, string b, ref double? min, ref double? max)
    {
        var x = Parse(a);
        var y = Parse(b);
        min = Math.Min(x, y);
        max = Math.Max(x, y);
        return " ";
    }

    private static string Bound(Match m, ref double? bound, bool lower)
    {
        var group = m.Groups[1].Success ? m.Groups[1] : m.Groups[2];
        var value = Parse(group.Value);
        bound = bound is { } b ? (lower ? Math.Max(b, value) : Math.Min(b, value)) : value;
        return " ";
    }

    private static double Parse(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
}
