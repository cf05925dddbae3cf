namespace Persona.Text;

/// <summary>
/// A light English stemmer: plurals (S-stemmer rules) and the <c>-ing</c>/<c>-ed</c> endings with Porter's step-1b
/// repairs, so "brushes" → "brush", "styling" → "style", "curling" → "curl". Deliberately conservative: product
/// words such as "glass", "gloss" or "moisturizer" stay whole.
/// </summary>
public static class EnglishStemmer
{
    /// <summary>Stems a lower-case ASCII word; other words come back unchanged.</summary>
    public static string Stem(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (word.Length <= 3) return word;
        foreach (var c in word)
            if (c is < 'a' or > 'z') return word;
        var w = Plural(word);
        return EdIng(w);
    }

    private static string Plural(string w)
    {
        if (w.EndsWith("sses", StringComparison.Ordinal)) return w[..^2];
        if (w.EndsWith("ies", StringComparison.Ordinal) && w.Length > 4) return w[..^3] + "y";
        if (w.EndsWith("es", StringComparison.Ordinal) && w.Length > 4)
        {
            var before = w[..^2];
            if (before.EndsWith('s') || before.EndsWith('x') || before.EndsWith('z') || before.EndsWith("ch", StringComparison.Ordinal) || before.EndsWith("sh", StringComparison.Ordinal))
                return before;
        }
        if (w.EndsWith('s') && !w.EndsWith("ss", StringComparison.Ordinal) && !w.EndsWith("us", StringComparison.Ordinal) && !w.EndsWith("is", StringComparison.Ordinal))
            return w[..^1];
        return w;
    }

    private static string EdIng(string w)
    {
        string stem;
        if (w.EndsWith("ing", StringComparison.Ordinal) && w.Length >= 6) stem = w[..^3];
        else if (w.EndsWith("ed", StringComparison.Ordinal) && !w.EndsWith("eed", StringComparison.Ordinal) && w.Length >= 5) stem = w[..^2];
        else return w;
        if (!HasVowel(stem)) return w;
        if (stem.EndsWith("at", StringComparison.Ordinal) || stem.EndsWith("bl", StringComparison.Ordinal) || stem.EndsWith("iz", StringComparison.Ordinal))
            return stem + "e";
        var n = stem.Length;
        if (n >= 2 && stem[n - 1] == stem[n - 2] && !IsVowel(stem, n - 1) && stem[n - 1] is not ('l' or 's' or 'z'))
            return stem[..^1];
        // A short consonant-vowel-consonant stem lost a silent e: "styl" → "style".
        if (n is >= 3 and <= 4 && !IsVowel(stem, n - 1) && IsVowel(stem, n - 2) && !IsVowel(stem, n - 3) && stem[n - 1] is not ('w' or 'x' or 'y'))
            return stem + "e";
        return stem;
    }

    private static bool HasVowel(string s)
    {
        for (var i = 0; i < s.Length; i++)
            if (IsVowel(s, i)) return true;
        return false;
    }

    /// <summary>a, e, i, o, u, and y after a consonant.</summary>
    private static bool IsVowel(string s, int i) => s[i] switch
    {
        'a' or 'e' or 'i' or 'o' or 'u' => true,
        'y' => i > 0 && !IsVowel(s, i - 1),
        _ => false,
    };
}
