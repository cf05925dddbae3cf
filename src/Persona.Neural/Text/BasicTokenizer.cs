using System.Globalization;
using System.Text;

namespace Persona.Neural.Text;

/// <summary>
/// BERT's basic tokenizer: cleans the text, isolates CJK ideographs, splits on whitespace, optionally lower-cases
/// and strips accents, then splits off punctuation. Behaviour follows google-research/bert <c>BasicTokenizer</c>;
/// <c>../shared/golden/wordpiece/README.md</c> lists the rules the golden cases pin down.
/// </summary>
public sealed class BasicTokenizer
{
    private readonly bool _lowerCase;
    private readonly bool _stripAccents;
    private readonly bool _tokenizeChineseChars;

    /// <summary>Creates a basic tokenizer; <paramref name="stripAccents"/> null follows <paramref name="lowerCase"/>.</summary>
    public BasicTokenizer(bool lowerCase = true, bool? stripAccents = null, bool tokenizeChineseChars = true)
    {
        _lowerCase = lowerCase;
        _stripAccents = stripAccents ?? lowerCase;
        _tokenizeChineseChars = tokenizeChineseChars;
    }

    /// <summary>Splits <paramref name="text"/> into words and punctuation marks.</summary>
    public List<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string cleaned = Clean(text);
        var output = new List<string>();
        foreach (var word in SplitOnWhitespace(cleaned))
        {
            string token = word;
            if (_lowerCase)
            {
                token = PythonCasing.ToLower(token);
            }

            if (_stripAccents)
            {
                token = StripAccents(token);
            }

            SplitOnPunctuation(token, output);
        }

        return output;
    }

    /// <summary>True for the code points BERT treats as CJK ideographs (the CJK Unified Ideographs blocks).</summary>
    public static bool IsChineseChar(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    /// <summary>ASCII non-alphanumerics (so <c>$</c>, <c>^</c>, <c>`</c> count) plus every Unicode <c>P*</c> character.</summary>
    public static bool IsPunctuation(Rune rune)
    {
        int cp = rune.Value;
        if (cp is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126))
        {
            return true;
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;
    }

    // Tab, newline and carriage return are whitespace, not control; every other C* category is control.
    private static bool IsControl(Rune rune)
    {
        if (rune.Value is '\t' or '\n' or '\r')
        {
            return false;
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    private static bool IsWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator;

    // Drops NUL, U+FFFD and control characters, turns whitespace into spaces and pads CJK ideographs with spaces.
    // Lone surrogates decode as U+FFFD and are dropped, as Python drops category Cs.
    private string Clean(string text)
    {
        var builder = new StringBuilder(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            int cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(rune))
            {
                continue;
            }

            if (IsWhitespace(rune))
            {
                builder.Append(' ');
            }
            else if (_tokenizeChineseChars && IsChineseChar(cp))
            {
                builder.Append(' ');
                AppendRune(builder, rune);
                builder.Append(' ');
            }
            else
            {
                AppendRune(builder, rune);
            }
        }

        return builder.ToString();
    }

    // Python's str.split(): after cleaning, the separators left are spaces and U+2028/U+2029, all of which
    // Rune.IsWhiteSpace covers.
    private static IEnumerable<string> SplitOnWhitespace(string text)
    {
        int start = -1;
        int index = 0;
        while (index < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out int consumed);
            if (Rune.IsWhiteSpace(rune))
            {
                if (start >= 0)
                {
                    yield return text[start..index];
                    start = -1;
                }
            }
            else if (start < 0)
            {
                start = index;
            }

            index += consumed;
        }

        if (start >= 0)
        {
            yield return text[start..];
        }
    }

    // NFD, then drop nonspacing marks. Nothing is recomposed, so Hangul syllables stay as conjoining jamo.
    private static string StripAccents(string token)
    {
        string decomposed = token.Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(decomposed.Length);
        foreach (var rune in decomposed.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark)
            {
                AppendRune(builder, rune);
            }
        }

        return builder.ToString();
    }

    // Every punctuation mark becomes a token of its own; the runs between them are tokens too. Whitespace that
    // lower-casing or NFD might have produced splits as well, as BERT's final whitespace split does.
    private static void SplitOnPunctuation(string token, List<string> output)
    {
        int start = -1;
        int index = 0;
        while (index < token.Length)
        {
            Rune.DecodeFromUtf16(token.AsSpan(index), out var rune, out int consumed);
            bool punctuation = IsPunctuation(rune);
            if (punctuation || Rune.IsWhiteSpace(rune))
            {
                if (start >= 0)
                {
                    output.Add(token[start..index]);
                    start = -1;
                }

                if (punctuation)
                {
                    output.Add(token.Substring(index, consumed));
                }
            }
            else if (start < 0)
            {
                start = index;
            }

            index += consumed;
        }

        if (start >= 0)
        {
            output.Add(token[start..]);
        }
    }

    private static void AppendRune(StringBuilder builder, Rune rune)
    {
        if (rune.IsBmp)
        {
            builder.Append((char)rune.Value);
        }
        else
        {
            builder.Append(rune.ToString());
        }
    }
}
