using System.Text;

namespace Persona.Text;

/// <summary>Unicode normalisation shared by every analyzer: NFKC (full-width → half-width) then case folding.</summary>
public static class TextNormalizer
{
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Normalize(NormalizationForm.FormKC).ToLowerInvariant();
    }
}
