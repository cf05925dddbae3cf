using System.Text;

namespace Persona.Neural.Text;

/// <summary>
/// BERT's full tokenizer: <see cref="BasicTokenizer"/> words, then greedy longest-match-first word pieces
/// (continuations prefixed <c>##</c>; a word with any unmatched position becomes the unknown token as a whole).
/// Immutable and safe to share between threads.
/// </summary>
public sealed class WordPieceTokenizer
{
    /// <summary>File name of the vocabulary in a checkpoint directory.</summary>
    public const string VocabFileName = "vocab.txt";

    /// <summary>File name of the Hugging Face tokenizer settings in a checkpoint directory.</summary>
    public const string ConfigFileName = "tokenizer_config.json";

    private const string ContinuationPrefix = "##";

    private readonly Dictionary<string, int> _vocabulary;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly string[] _idToToken;
    private readonly BasicTokenizer _basic;

    /// <summary>Creates a tokenizer over <paramref name="vocabulary"/>, where a token's id is its index.</summary>
    public WordPieceTokenizer(IReadOnlyList<string> vocabulary, WordPieceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        Options = options ?? new WordPieceOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.MaxInputCharsPerWord, 1, nameof(options));

        _idToToken = [.. vocabulary];
        _vocabulary = new Dictionary<string, int>(_idToToken.Length, StringComparer.Ordinal);
        for (int id = 0; id < _idToToken.Length; id++)
        {
            // A repeated line maps to its last id, as BERT's load_vocab does.
            _vocabulary[_idToToken[id]] = id;
        }

        _lookup = _vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();
        _basic = new BasicTokenizer(Options.DoLowerCase, Options.StripAccents, Options.TokenizeChineseChars);

        UnknownId = RequireId(Options.UnknownToken);
        ClassifierId = RequireId(Options.ClassifierToken);
        SeparatorId = RequireId(Options.SeparatorToken);
        PaddingId = _vocabulary.GetValueOrDefault(Options.PaddingToken, 0);
    }

    /// <summary>The settings in force.</summary>
    public WordPieceOptions Options { get; }

    /// <summary>Number of vocabulary lines (ids run from 0 to this minus one).</summary>
    public int VocabularySize => _idToToken.Length;

    public int UnknownId { get; }

    public int ClassifierId { get; }

    public int SeparatorId { get; }

    /// <summary>Id of the padding token (0 when the vocabulary lacks one).</summary>
    public int PaddingId { get; }

    /// <summary>Loads a <c>vocab.txt</c>: one token per line, the line number being the id.</summary>
    public static WordPieceTokenizer FromVocabFile(string vocabPath, WordPieceOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(vocabPath);
        // BERT strips each line; a vocabulary's tokens never carry surrounding whitespace.
        var tokens = File.ReadLines(vocabPath, Encoding.UTF8).Select(line => line.Trim()).ToList();
        if (tokens.Count == 0)
        {
            throw new InvalidDataException($"Vocabulary '{vocabPath}' is empty.");
        }

        return new WordPieceTokenizer(tokens, options);
    }

    /// <summary>Loads <c>vocab.txt</c> from a checkpoint directory, honouring <c>tokenizer_config.json</c> when present.</summary>
    public static WordPieceTokenizer FromDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string vocab = Path.Combine(directory, VocabFileName);
        if (!File.Exists(vocab))
        {
            throw new FileNotFoundException($"No {VocabFileName} in '{directory}'.", vocab);
        }

        string config = Path.Combine(directory, ConfigFileName);
        var options = File.Exists(config) ? WordPieceOptions.FromTokenizerConfig(config) : new WordPieceOptions();
        return FromVocabFile(vocab, options);
    }

    /// <summary>The token of an id.</summary>
    public string IdToToken(int id) => _idToToken[id];

    /// <summary>The id of a vocabulary token.</summary>
    public bool TryGetId(string token, out int id) => _vocabulary.TryGetValue(token, out id);

    /// <summary>Ids of <paramref name="tokens"/>; tokens outside the vocabulary map to the unknown id.</summary>
    public int[] ConvertTokensToIds(IEnumerable<string> tokens) =>
        [.. tokens.Select(t => _vocabulary.GetValueOrDefault(t, UnknownId))];

    /// <summary>Word pieces of <paramref name="text"/>, without special tokens.</summary>
    public List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        TokenizeInto(text, tokens, ids: null);
        return tokens;
    }

    /// <summary>Word-piece ids of <paramref name="text"/>, without special tokens.</summary>
    public List<int> TokenizeToIds(string text)
    {
        var ids = new List<int>();
        TokenizeInto(text, tokens: null, ids);
        return ids;
    }

    /// <summary>
    /// Encodes <c>[CLS] text [SEP]</c>, or <c>[CLS] text [SEP] pair [SEP]</c> with token types 1 on the pair.
    /// Longer inputs are cut to <paramref name="maxLength"/> (default <see cref="WordPieceOptions.ModelMaxLength"/>)
    /// by dropping word pieces from the end of the longer side first.
    /// </summary>
    public TokenizedText Encode(string text, string? pair = null, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokensA = new List<string>();
        var idsA = new List<int>();
        TokenizeInto(text, tokensA, idsA);
        var tokensB = new List<string>();
        var idsB = new List<int>();
        if (pair is not null)
        {
            TokenizeInto(pair, tokensB, idsB);
        }

        int specials = pair is null ? 2 : 3;
        int? limit = maxLength ?? Options.ModelMaxLength;
        bool truncated = false;
        if (limit is int max)
        {
            if (max < specials)
            {
                throw new ArgumentOutOfRangeException(nameof(maxLength), max, $"Needs room for {specials} special tokens.");
            }

            int budget = max - specials;
            int keepA = tokensA.Count;
            int keepB = tokensB.Count;
            truncated = keepA + keepB > budget;
            while (keepA + keepB > budget)
            {
                // Longest first; on a tie the pair loses a piece (Hugging Face's rule).
                if (keepA > keepB)
                {
                    keepA--;
                }
                else
                {
                    keepB--;
                }
            }

            tokensA.RemoveRange(keepA, tokensA.Count - keepA);
            idsA.RemoveRange(keepA, idsA.Count - keepA);
            tokensB.RemoveRange(keepB, tokensB.Count - keepB);
            idsB.RemoveRange(keepB, idsB.Count - keepB);
        }

        int length = tokensA.Count + tokensB.Count + specials;
        var tokens = new string[length];
        var ids = new int[length];
        var types = new int[length];
        var mask = new int[length];
        mask.AsSpan().Fill(1);

        int p = 0;
        tokens[p] = Options.ClassifierToken;
        ids[p++] = ClassifierId;
        for (int i = 0; i < tokensA.Count; i++, p++)
        {
            tokens[p] = tokensA[i];
            ids[p] = idsA[i];
        }

        tokens[p] = Options.SeparatorToken;
        ids[p++] = SeparatorId;
        if (pair is not null)
        {
            int typeStart = p;
            for (int i = 0; i < tokensB.Count; i++, p++)
            {
                tokens[p] = tokensB[i];
                ids[p] = idsB[i];
            }

            tokens[p] = Options.SeparatorToken;
            ids[p++] = SeparatorId;
            types.AsSpan(typeStart, p - typeStart).Fill(1);
        }

        return new TokenizedText(tokens, ids, types, mask, truncated);
    }

    /// <summary>Encodes each text (with its pair, when given) and right-pads every row to the longest.</summary>
    public TokenizedBatch EncodeBatch(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (pairs is not null && pairs.Count != texts.Count)
        {
            throw new ArgumentException($"{pairs.Count} pairs for {texts.Count} texts.", nameof(pairs));
        }

        var rows = new TokenizedText[texts.Count];
        for (int b = 0; b < rows.Length; b++)
        {
            rows[b] = Encode(texts[b], pairs?[b], maxLength);
        }

        int seq = rows.Length == 0 ? 0 : rows.Max(r => r.Length);
        var ids = new int[rows.Length * seq];
        var types = new int[rows.Length * seq];
        var mask = new int[rows.Length * seq];
        var lengths = new int[rows.Length];
        var tokens = new string[rows.Length][];
        var truncated = new bool[rows.Length];
        ids.AsSpan().Fill(PaddingId);
        for (int b = 0; b < rows.Length; b++)
        {
            var row = rows[b];
            row.InputIds.CopyTo(ids.AsSpan(b * seq));
            row.TokenTypeIds.CopyTo(types.AsSpan(b * seq));
            row.AttentionMask.CopyTo(mask.AsSpan(b * seq));
            lengths[b] = row.Length;
            truncated[b] = row.Truncated;
            tokens[b] = new string[seq];
            row.Tokens.CopyTo(tokens[b], 0);
            tokens[b].AsSpan(row.Length).Fill(Options.PaddingToken);
        }

        return new TokenizedBatch(rows.Length, seq, ids, types, mask, lengths, tokens, truncated);
    }

    private int RequireId(string token) =>
        _vocabulary.TryGetValue(token, out int id)
            ? id
            : throw new InvalidDataException($"The vocabulary lacks the special token '{token}'.");

    private void TokenizeInto(string text, List<string>? tokens, List<int>? ids)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var word in _basic.Tokenize(text))
        {
            AppendWordPieces(word, tokens, ids);
        }
    }

    private void AppendWordPieces(string word, List<string>? tokens, List<int>? ids)
    {
        // Code point boundaries: the length limit and the piece ends count code points, as Python does.
        Span<int> bounds = word.Length + 1 <= 256 ? stackalloc int[word.Length + 1] : new int[word.Length + 1];
        int runes = 0;
        for (int i = 0; i < word.Length; runes++)
        {
            bounds[runes] = i;
            i += char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
        }

        bounds[runes] = word.Length;
        if (runes > Options.MaxInputCharsPerWord)
        {
            Add(UnknownId, tokens, ids);
            return;
        }

        // "##" + the candidate continuation, looked up without allocating.
        Span<char> buffer = word.Length + 2 <= 512 ? stackalloc char[word.Length + 2] : new char[word.Length + 2];
        ContinuationPrefix.CopyTo(buffer);
        int tokenMark = tokens?.Count ?? 0;
        int idMark = ids?.Count ?? 0;
        int start = 0;
        while (start < runes)
        {
            int found = -1;
            int end = runes;
            for (; end > start; end--)
            {
                var piece = word.AsSpan(bounds[start], bounds[end] - bounds[start]);
                bool hit;
                if (start > 0)
                {
                    piece.CopyTo(buffer[2..]);
                    hit = _lookup.TryGetValue(buffer[..(piece.Length + 2)], out found);
                }
                else
                {
                    hit = _lookup.TryGetValue(piece, out found);
                }

                if (hit)
                {
                    break;
                }

                found = -1;
            }

            if (found < 0)
            {
                // One unmatched position makes the whole word unknown.
                tokens?.RemoveRange(tokenMark, tokens.Count - tokenMark);
                ids?.RemoveRange(idMark, ids.Count - idMark);
                Add(UnknownId, tokens, ids);
                return;
            }

            Add(found, tokens, ids);
            start = end;
        }
    }

    private void Add(int id, List<string>? tokens, List<int>? ids)
    {
        tokens?.Add(_idToToken[id]);
        ids?.Add(id);
    }
}
