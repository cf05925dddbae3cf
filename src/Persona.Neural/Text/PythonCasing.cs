using System.Globalization;
using System.Text;

namespace Persona.Neural.Text;

/// <summary>
/// Lower-casing that matches Python's <c>str.lower()</c> (Unicode full case mapping), which BERT vocabularies were
/// built with. It differs from <see cref="string.ToLowerInvariant()"/> in exactly the two context-free-unsafe cases
/// of SpecialCasing.txt that Python applies: U+0130 → "i\u0307" and the word-final capital sigma → ς.
/// </summary>
public static class PythonCasing
{
    private const int CapitalSigma = 0x03A3;

    /// <summary>Lower-cases <paramref name="text"/> as Python 3 does.</summary>
    public static string ToLower(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length);
        int index = 0;
        while (index < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out int consumed);
            switch (rune.Value)
            {
                case 0x0130:
                    builder.Append("i\u0307");
                    break;
                case CapitalSigma:
                    builder.Append(IsFinalSigma(text, index) ? 'ς' : 'σ');
                    break;
                default:
                    var lower = Rune.ToLowerInvariant(rune);
                    if (lower.IsBmp)
                    {
                        builder.Append((char)lower.Value);
                    }
                    else
                    {
                        builder.Append(lower.ToString());
                    }

                    break;
            }

            index += consumed;
        }

        return builder.ToString();
    }

    // Final_Sigma (Unicode 3.13): a cased letter, then case-ignorables, then Σ, and no cased letter after the
    // case-ignorables that follow. Python checks the same context.
    private static bool IsFinalSigma(string text, int sigmaIndex)
    {
        bool casedBefore = false;
        int i = sigmaIndex;
        while (i > 0)
        {
            Rune.DecodeLastFromUtf16(text.AsSpan(0, i), out var rune, out int consumed);
            if (!IsCaseIgnorable(rune))
            {
                casedBefore = IsCased(rune);
                break;
            }

            i -= consumed;
        }

        if (!casedBefore)
        {
            return false;
        }

        int j = sigmaIndex + 1;
        while (j < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(j), out var rune, out int consumed);
            if (!IsCaseIgnorable(rune))
            {
                return !IsCased(rune);
            }

            j += consumed;
        }

        return true;
    }

    // Unicode "Cased": Lowercase or Uppercase or Lt (the Other_Lowercase/Other_Uppercase letters that matter here
    // are the Roman numerals, circled letters and the ordinal indicators).
    private static bool IsCased(Rune rune)
    {
        var category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter)
        {
            return true;
        }

        int cp = rune.Value;
        return cp is 0x00AA or 0x00BA or (>= 0x2160 and <= 0x217F) or (>= 0x24B6 and <= 0x24E9);
    }

    // Unicode "Case_Ignorable": Mn, Me, Cf, Lm, Sk, or Word_Break MidLetter / MidNumLet / Single_Quote.
    private static bool IsCaseIgnorable(Rune rune)
    {
        var category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol)
        {
            return true;
        }

        return rune.Value is 0x0027 or 0x002E or 0x003A or 0x00B7 or 0x0387 or 0x055F or 0x05F4 or 0x2018 or 0x2019
            or 0x2024 or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;
    }
}
