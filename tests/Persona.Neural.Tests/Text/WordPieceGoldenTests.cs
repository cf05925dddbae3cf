using System.Text.Json;
using Persona.Neural.Tests.Bert;
using Persona.Neural.Text;

namespace Persona.Neural.Tests.Text;

public sealed class WordPieceGoldenTests
{
    [GoldenFact]
    public void Tokenize_GoldenCases_MatchTokensAndIdsExactly() =>
        AssertCases("cases.jsonl", expectedCount: 64);

    [GoldenFact]
    public void Tokenize_GoldenZhCasesWithoutLowerCasing_MatchTokensAndIdsExactly() =>
        AssertCases("cases-zh-no-lower.jsonl", expectedCount: 8);

    [GoldenFact]
    public void Tokenize_GoldenCasesWithGoogleWordLimit_StillMatch()
    {
        // The README notes Google's 200-char word limit vs Hugging Face's 100; no case sits between them.
        var tokenizer = WordPieceTokenizer.FromVocabFile(
            GoldenData.Path("wordpiece", "vocab-en-uncased.txt"),
            new WordPieceOptions { MaxInputCharsPerWord = 200 });
        foreach (var c in ReadCases("cases.jsonl").Where(c => c.Vocab == "en-uncased"))
        {
            Assert.Equal(c.Tokens, tokenizer.Tokenize(c.Text));
        }
    }

    private static void AssertCases(string file, int expectedCount)
    {
        var cases = ReadCases(file);
        Assert.Equal(expectedCount, cases.Count);
        var tokenizers = new Dictionary<(string, bool), WordPieceTokenizer>();
        var failures = new List<string>();
        foreach (var c in cases)
        {
            if (!tokenizers.TryGetValue((c.Vocab, c.DoLowerCase), out var tokenizer))
            {
                tokenizer = WordPieceTokenizer.FromVocabFile(
                    GoldenData.Path("wordpiece", $"vocab-{c.Vocab}.txt"),
                    new WordPieceOptions { DoLowerCase = c.DoLowerCase });
                tokenizers[(c.Vocab, c.DoLowerCase)] = tokenizer;
            }

            var tokens = tokenizer.Tokenize(c.Text);
            var ids = tokenizer.TokenizeToIds(c.Text);
            if (!tokens.SequenceEqual(c.Tokens) || !ids.SequenceEqual(c.Ids))
            {
                failures.Add($"[{c.Vocab} {c.Tag}] {JsonSerializer.Serialize(c.Text)}\n  expected {string.Join(' ', c.Tokens)}\n  actual   {string.Join(' ', tokens)}");
            }

            var encoded = tokenizer.Encode(c.Text);
            Assert.Equal([101, .. c.Ids, 102], encoded.InputIds);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases differ:\n{string.Join('\n', failures)}");
    }

    private static List<Case> ReadCases(string file) =>
        [.. File.ReadLines(GoldenData.Path("wordpiece", file))
            .Where(line => line.Length > 0)
            .Select(line =>
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                return new Case(
                    root.GetProperty("vocab").GetString()!,
                    root.GetProperty("do_lower_case").GetBoolean(),
                    root.GetProperty("tag").GetString()!,
                    root.GetProperty("text").GetString()!,
                    [.. root.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!)],
                    [.. root.GetProperty("ids").EnumerateArray().Select(t => t.GetInt32())]);
            })];

    private sealed record Case(string Vocab, bool DoLowerCase, string Tag, string Text, string[] Tokens, int[] Ids);
}
