using System.Text.Json;
using BertOptions = Microsoft.ML.Tokenizers.BertOptions;
using BertTokenizer = Microsoft.ML.Tokenizers.BertTokenizer;
using Persona.Neural.Text;
using Xunit.Abstractions;

namespace Persona.Pretrained.Tests;

/// <summary>
/// Why the encoders keep our <see cref="WordPieceTokenizer"/>: both it and Microsoft.ML.Tokenizers' BertTokenizer run
/// on every golden case of google-research/bert's reference tokenizer, and only ours matches them all.
/// </summary>
public sealed class TokenizerComparisonTests(ITestOutputHelper output)
{
    [GoldenFact]
    public void GoldenCases_OursPassesAll_LibraryFailsSome()
    {
        var cases = ReadCases("cases.jsonl").Concat(ReadCases("cases-zh-no-lower.jsonl")).ToList();
        var ours = new Dictionary<(string, bool), WordPieceTokenizer>();
        var library = new Dictionary<(string, bool), BertTokenizer>();
        int oursPassed = 0, libraryPassed = 0;
        foreach (var c in cases)
        {
            string vocab = SharedData.Golden("wordpiece", $"vocab-{c.Vocab}.txt");
            var key = (c.Vocab, c.DoLowerCase);
            if (!ours.TryGetValue(key, out var own))
            {
                ours[key] = own = WordPieceTokenizer.FromVocabFile(vocab, new WordPieceOptions { DoLowerCase = c.DoLowerCase });
                // The reference's settings: lower-casing implies accent stripping; CJK characters become words of their own.
                library[key] = BertTokenizer.Create(vocab, new BertOptions
                {
                    LowerCaseBeforeTokenization = c.DoLowerCase,
                    RemoveNonSpacingMarks = c.DoLowerCase,
                    IndividuallyTokenizeCjk = true,
                    ApplyBasicTokenization = true,
                });
            }

            if (own.TokenizeToIds(c.Text).SequenceEqual(c.Ids))
            {
                oursPassed++;
            }

            var ids = library[key].EncodeToIds(c.Text, addSpecialTokens: false);
            if (ids.SequenceEqual(c.Ids))
            {
                libraryPassed++;
            }
            else
            {
                output.WriteLine(
                    $"library fails [{c.Vocab} lower={c.DoLowerCase} {c.Tag}] {JsonSerializer.Serialize(c.Text)}\n" +
                    $"  expected {string.Join(' ', c.Tokens)}\n  library  {string.Join(' ', ids.Select(own.IdToToken))}");
            }
        }

        output.WriteLine($"{cases.Count} golden cases: ours {oursPassed}, Microsoft.ML.Tokenizers BertTokenizer {libraryPassed}.");
        Assert.Equal(72, cases.Count);
        Assert.Equal(cases.Count, oursPassed);
        Assert.True(libraryPassed < cases.Count, "The library now passes every golden case: reconsider using it.");
    }

    private static List<Case> ReadCases(string file) =>
        [.. File.ReadLines(SharedData.Golden("wordpiece", file))
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
