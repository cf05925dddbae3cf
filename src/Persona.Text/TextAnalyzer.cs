using System.Globalization;
using System.Text;

namespace Persona.Text;

/// <summary>
/// Turns shop text in Chinese, English or both into index terms in one pass over the normalised text
/// (<see cref="TextNormalizer"/>: NFKC, so full-width becomes half-width, then lower case):
/// <list type="bullet">
/// <item>Han (and kana/hangul) runs → every character and every adjacent pair ("口红" → 口, 红, 口红), so no
/// dictionary is needed and a query matches any substring.</item>
/// <item>Letter runs → words, light-stemmed (<see cref="EnglishStemmer"/>), common English stop words dropped.</item>
/// <item>Runs holding digits → kept whole, with a decimal point between digits and letters attached
/// ("15.6", "iphone15", "e55"): model numbers and sizes must match exactly.</item>
/// </list>
/// </summary>
public static class TextAnalyzer
{
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "and", "the", "of", "for", "with", "in", "on", "to", "or", "by", "at", "from", "is", "are",
    };

    /// <summary>The terms of <paramref name="text"/>, in order, duplicates kept (term frequency matters).</summary>
    public static List<string> Analyze(string? text)
    {
        var terms = new List<string>();
        Analyze(text, terms);
        return terms;
    }

    /// <summary>Appends the terms of <paramref name="text"/> to <paramref name="terms"/>.</summary>
    public static void Analyze(string? text, List<string> terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        if (string.IsNullOrEmpty(text)) return;
        var s = TextNormalizer.Normalize(text);
        var i = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (IsCjk(c))
            {
                var start = i;
                while (i < s.Length && IsCjk(s[i])) i++;
                for (var k = start; k < i; k++)
                {
                    terms.Add(s.Substring(k, 1));
                    if (k + 1 < i) terms.Add(s.Substring(k, 2));
                }
            }
            else if (char.IsLetterOrDigit(c))
            {
                var start = i;
                var digits = false;
                while (i < s.Length)
                {
                    var d = s[i];
                    if (char.IsLetterOrDigit(d) && !IsCjk(d))
                    {
                        digits |= char.IsDigit(d);
                        i++;
                    }
                    else if (d == '.' && i > start && char.IsDigit(s[i - 1]) && i + 1 < s.Length && char.IsDigit(s[i + 1]))
                    {
                        i++;
                    }
                    else if (d == '\'' && i + 1 < s.Length && char.IsLetter(s[i + 1]) && !IsCjk(s[i + 1]))
                    {
                        // Possessive/contraction, cleaned below: "women's" → "women", "l'oreal" → "loreal".
                        i++;
                    }
                    else
                    {
                        break;
                    }
                }
                var word = s[start..i];
                if (word.Contains('\'', StringComparison.Ordinal)) word = StripApostrophes(word);
                if (word.Length == 0) continue;
                if (digits) terms.Add(word);
                else if (!StopWords.Contains(word)) terms.Add(EnglishStemmer.Stem(word));
            }
            else
            {
                i++;
            }
        }
    }

    private static string StripApostrophes(string word)
    {
        if (word.EndsWith("'s", StringComparison.Ordinal)) word = word[..^2];
        return word.Replace("'", "", StringComparison.Ordinal);
    }

    /// <summary>Han ideographs, kana and hangul: scripts written without spaces between words.</summary>
    public static bool IsCjk(char c)
    {
        if (c < 0x2E80) return false;
        return CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.OtherLetter
            && (c is >= '\u2E80' and <= '\u9FFF' or >= '\uAC00' and <= '\uD7AF' or >= '\uF900' and <= '\uFAFF');
    }

    /// <summary>Normalised text with every run of non-letters and non-digits collapsed to one space; for phrase matching.</summary>
    public static string Flatten(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var s = TextNormalizer.Normalize(text);
        var sb = new StringBuilder(s.Length);
        var space = false;
        foreach (var c in s)
        {
            if (char.IsLetterOrDigit(c) || c == '.')
            {
                if (space && sb.Length > 0) sb.Append(' ');
                sb.Append(c);
                space = false;
            }
            else
            {
                space = true;
            }
        }
        return sb.ToString();
    }
}
