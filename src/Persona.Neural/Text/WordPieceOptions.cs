using System.Text.Json;

namespace Persona.Neural.Text;

/// <summary>Settings of a <see cref="WordPieceTokenizer"/>; the defaults are Hugging Face BertTokenizer's.</summary>
public sealed record WordPieceOptions
{
    /// <summary>Hugging Face's <c>max_input_chars_per_word</c> (Google's reference uses 200).</summary>
    public const int DefaultMaxInputCharsPerWord = 100;

    /// <summary>Lower-case (Python <c>str.lower</c> semantics) before splitting.</summary>
    public bool DoLowerCase { get; init; } = true;

    /// <summary>Strip accents (NFD, then drop <c>Mn</c>); null follows <see cref="DoLowerCase"/>, as in BERT.</summary>
    public bool? StripAccents { get; init; }

    /// <summary>Put spaces around CJK ideographs so each becomes its own word.</summary>
    public bool TokenizeChineseChars { get; init; } = true;

    /// <summary>Words with more code points than this become the unknown token.</summary>
    public int MaxInputCharsPerWord { get; init; } = DefaultMaxInputCharsPerWord;

    /// <summary>Longest encoded sequence (special tokens included) when a caller gives none; null for no limit.</summary>
    public int? ModelMaxLength { get; init; }

    public string UnknownToken { get; init; } = "[UNK]";

    public string ClassifierToken { get; init; } = "[CLS]";

    public string SeparatorToken { get; init; } = "[SEP]";

    public string PaddingToken { get; init; } = "[PAD]";

    public string MaskToken { get; init; } = "[MASK]";

    /// <summary>
    /// Reads a Hugging Face <c>tokenizer_config.json</c> (<c>do_lower_case</c>, <c>strip_accents</c>,
    /// <c>tokenize_chinese_chars</c>, <c>model_max_length</c>, special tokens); absent keys keep the defaults.
    /// </summary>
    public static WordPieceOptions FromTokenizerConfig(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"'{path}' must hold a JSON object.");
        }

        var options = new WordPieceOptions();
        if (TryBool(root, "do_lower_case", out bool lower))
        {
            options = options with { DoLowerCase = lower };
        }

        if (TryBool(root, "strip_accents", out bool strip))
        {
            options = options with { StripAccents = strip };
        }

        if (TryBool(root, "tokenize_chinese_chars", out bool chinese))
        {
            options = options with { TokenizeChineseChars = chinese };
        }

        // Configs without a real limit store a huge sentinel (1e30); treat anything implausible as none.
        if (root.TryGetProperty("model_max_length", out var max) && max.ValueKind == JsonValueKind.Number &&
            max.TryGetDouble(out double maxLength) && maxLength is >= 2 and <= 1_000_000)
        {
            options = options with { ModelMaxLength = (int)maxLength };
        }

        if (root.TryGetProperty("max_input_chars_per_word", out var chars) && chars.TryGetInt32(out int maxChars) && maxChars > 0)
        {
            options = options with { MaxInputCharsPerWord = maxChars };
        }

        return options with
        {
            UnknownToken = Token(root, "unk_token") ?? options.UnknownToken,
            ClassifierToken = Token(root, "cls_token") ?? options.ClassifierToken,
            SeparatorToken = Token(root, "sep_token") ?? options.SeparatorToken,
            PaddingToken = Token(root, "pad_token") ?? options.PaddingToken,
            MaskToken = Token(root, "mask_token") ?? options.MaskToken,
        };
    }

    private static bool TryBool(JsonElement root, string name, out bool value)
    {
        value = false;
        if (!root.TryGetProperty(name, out var element) ||
            element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return false;
        }

        value = element.GetBoolean();
        return true;
    }

    // Special tokens appear either as plain strings or as AddedToken objects {"content": "[UNK]", ...}.
    private static string? Token(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var element))
        {
            return null;
        }

        return element.ValueKind switch
        {
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Object when element.TryGetProperty("content", out var content) &&
                                      content.ValueKind == JsonValueKind.String => content.GetString(),
            _ => null,
        };
    }
}
