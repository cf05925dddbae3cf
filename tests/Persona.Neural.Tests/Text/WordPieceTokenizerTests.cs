using FsCheck;
using FsCheck.Fluent;
using Persona.Neural.Text;

namespace Persona.Neural.Tests.Text;

public sealed class WordPieceTokenizerTests
{
    private static readonly string[] Vocabulary =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "un", "##aff", "##able", "aff", "able", "runn", "##ing", "run", "##n", ",", ".", "!", "the", "a", "b", "c",
        "##a", "##b", "##c", "红", "色", "cafe", "σ", "##ος", "ο", "##δ", "##ο", "##σ", "i", "##stanbul", "##ς",
    ];

    private static WordPieceTokenizer Create(WordPieceOptions? options = null) => new(Vocabulary, options);

    [Fact]
    public void Tokenize_GreedyLongestMatch_PrefixesContinuations()
    {
        Assert.Equal(["un", "##aff", "##able", ",", "runn", "##ing", "!"], Create().Tokenize("UnAffable, running!"));
    }

    [Fact]
    public void Tokenize_UnmatchedPositionInWord_WholeWordIsUnknown()
    {
        Assert.Equal(["the", "[UNK]", "a"], Create().Tokenize("the unaffablex a"));
    }

    [Fact]
    public void Tokenize_WordLongerThanLimit_IsUnknown()
    {
        var tokenizer = Create(new WordPieceOptions { MaxInputCharsPerWord = 3 });
        Assert.Equal(["a", "[UNK]"], tokenizer.Tokenize("a abca"));
        Assert.Equal(["a", "##b", "##c"], tokenizer.Tokenize("abc"));
    }

    [Fact]
    public void Tokenize_ChineseCharsAndAccents_SplitAndStripped()
    {
        Assert.Equal(["红", "色", "cafe", "[UNK]"], Create().Tokenize("红色Café 蓝"));
        var cased = Create(new WordPieceOptions { DoLowerCase = false });
        Assert.Equal(["[UNK]", "红"], cased.Tokenize("Café红"));
    }

    [Fact]
    public void Tokenize_ControlAndFormatCharacters_AreRemovedJoiningWords()
    {
        Assert.Equal(["a", "##b", "##c", "the"], Create().Tokenize("a\u200Bb\u00ADc\u0000\tthe"));
    }

    [Fact]
    public void PythonCasing_FinalSigmaAndDottedCapitalI_MatchPython()
    {
        Assert.Equal("οδος", PythonCasing.ToLower("ΟΔΟΣ"));
        Assert.Equal("σ", PythonCasing.ToLower("Σ"));
        Assert.Equal("οσα", PythonCasing.ToLower("ΟΣΑ"));
        Assert.Equal("οδος.", PythonCasing.ToLower("ΟΔΟΣ."));
        Assert.Equal("i\u0307stanbul", PythonCasing.ToLower("İstanbul"));
        Assert.Equal(["ο", "##δ", "##ος"], Create().Tokenize("ΟΔΟΣ"));
        Assert.Equal(["i", "##stanbul"], Create().Tokenize("İstanbul"));
    }

    [Fact]
    public void Encode_Pair_AddsSpecialsAndSegmentIds()
    {
        var encoded = Create().Encode("the a", "b");

        Assert.Equal(["[CLS]", "the", "a", "[SEP]", "b", "[SEP]"], encoded.Tokens);
        Assert.Equal([2, 17, 18, 3, 19, 3], encoded.InputIds);
        Assert.Equal([0, 0, 0, 0, 1, 1], encoded.TokenTypeIds);
        Assert.Equal([1, 1, 1, 1, 1, 1], encoded.AttentionMask);
        Assert.False(encoded.Truncated);
    }

    [Fact]
    public void Encode_PairOverLimit_TruncatesLongestFirst()
    {
        var tokenizer = Create();

        var encoded = tokenizer.Encode("a a a a a", "b b", maxLength: 8);

        Assert.True(encoded.Truncated);
        Assert.Equal(["[CLS]", "a", "a", "a", "[SEP]", "b", "b", "[SEP]"], encoded.Tokens);
        var tie = tokenizer.Encode("a a a", "b b b", maxLength: 7);
        Assert.Equal(["[CLS]", "a", "a", "[SEP]", "b", "b", "[SEP]"], tie.Tokens);
        var tighter = tokenizer.Encode("a a a", "b b b", maxLength: 6);
        Assert.Equal(["[CLS]", "a", "a", "[SEP]", "b", "[SEP]"], tighter.Tokens);
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Encode("a", "b", maxLength: 2));
    }

    [Fact]
    public void Encode_SingleOverLimit_KeepsFirstPieces()
    {
        var encoded = Create().Encode("a b c the", maxLength: 4);

        Assert.Equal(["[CLS]", "a", "b", "[SEP]"], encoded.Tokens);
        Assert.True(encoded.Truncated);
    }

    [Fact]
    public void EncodeBatch_RowsOfDifferentLengths_RightPadded()
    {
        var batch = Create().EncodeBatch(["a b c", "the"], ["a", "b"]);

        Assert.Equal(2, batch.BatchSize);
        Assert.Equal(7, batch.SequenceLength);
        Assert.Equal([2, 18, 19, 20, 3, 18, 3], batch.RowIds(0).ToArray());
        Assert.Equal([2, 17, 3, 19, 3, 0, 0], batch.RowIds(1).ToArray());
        Assert.Equal([1, 1, 1, 1, 1, 0, 0], batch.RowMask(1).ToArray());
        Assert.Equal([0, 0, 0, 1, 1, 0, 0], batch.RowTypes(1).ToArray());
        Assert.Equal([7, 5], batch.Lengths);
        Assert.Equal("[PAD]", batch.Tokens[1][6]);
    }

    [Fact]
    public void FromDirectory_TokenizerConfig_IsHonoured()
    {
        var dir = Directory.CreateTempSubdirectory("persona-vocab-");
        try
        {
            File.WriteAllLines(Path.Combine(dir.FullName, "vocab.txt"), Vocabulary);
            File.WriteAllText(
                Path.Combine(dir.FullName, "tokenizer_config.json"),
                """{"do_lower_case": false, "model_max_length": 4, "unk_token": {"content": "[UNK]"}}""");

            var tokenizer = WordPieceTokenizer.FromDirectory(dir.FullName);

            Assert.False(tokenizer.Options.DoLowerCase);
            Assert.Equal(["[UNK]", "a"], tokenizer.Tokenize("The a"));
            Assert.Equal(4, tokenizer.Encode("a b c").Length);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Tokenize_AnyText_PiecesAreVocabularyTokensThatRebuildTheWords()
    {
        var alphabet = Gen.Elements('a', 'b', 'c', 'x', ' ', ',', '红', '\u00E9', 'A', '\t', '\u200B', '\uD83D');
        var texts = Gen.ArrayOf(alphabet).Select(chars => new string(chars)).ToArbitrary();
        var tokenizer = Create();
        var basic = new BasicTokenizer();

        Prop.ForAll(texts, text =>
        {
            var pieces = tokenizer.Tokenize(text);
            Assert.All(pieces, p => Assert.True(tokenizer.TryGetId(p, out _)));

            // Re-joining the pieces word by word gives back each basic word, or [UNK] for the word.
            var rebuilt = new List<string>();
            foreach (var piece in pieces)
            {
                if (piece.StartsWith("##", StringComparison.Ordinal))
                {
                    rebuilt[^1] += piece[2..];
                }
                else
                {
                    rebuilt.Add(piece);
                }
            }

            var words = basic.Tokenize(text);
            Assert.Equal(words.Count, rebuilt.Count);
            for (int i = 0; i < words.Count; i++)
            {
                Assert.True(rebuilt[i] == words[i] || rebuilt[i] == "[UNK]", $"{words[i]} vs {rebuilt[i]}");
            }
        }).QuickCheckThrowOnFailure();
    }
}
