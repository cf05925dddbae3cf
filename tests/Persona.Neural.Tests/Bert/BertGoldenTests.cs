using System.Text.Json;
using Persona.Neural.Bert;

namespace Persona.Neural.Tests.Bert;

public sealed class BertGoldenTests
{
    private const double Tolerance = 1e-4;

    [GoldenTheory]
    [InlineData("zh")]
    [InlineData("en")]
    public void Encode_GoldenCases_MatchTokensIdsAndOutputs(string model)
    {
        var encoder = BertEncoder.Load(GoldenData.Path("bert-tiny", model));
        var cases = File.ReadLines(GoldenData.Path("bert-tiny", model, "golden.jsonl")).Where(l => l.Length > 0).ToList();
        Assert.Equal(12, cases.Count);
        int h = encoder.HiddenSize;
        double worst = 0;

        foreach (var line in cases)
        {
            using var doc = JsonDocument.Parse(line);
            var c = doc.RootElement;
            string name = c.GetProperty("name").GetString()!;
            var texts = Strings(c.GetProperty("texts"));
            var pairs = c.GetProperty("text_pairs").ValueKind == JsonValueKind.Null ? null : Strings(c.GetProperty("text_pairs"));

            var output = encoder.Encode(texts, pairs);

            var tokens = c.GetProperty("tokens").EnumerateArray().Select(Strings).ToList();
            Assert.Equal(tokens.Count, output.BatchSize);
            Assert.Equal(tokens[0].Length, output.SequenceLength);
            for (int b = 0; b < output.BatchSize; b++)
            {
                Assert.Equal(tokens[b], output.Inputs.Tokens[b]);
                Assert.Equal(Ints(c.GetProperty("input_ids")[b]), output.Inputs.RowIds(b).ToArray());
                Assert.Equal(Ints(c.GetProperty("attention_mask")[b]), output.Inputs.RowMask(b).ToArray());
                Assert.Equal(Ints(c.GetProperty("token_type_ids")[b]), output.Inputs.RowTypes(b).ToArray());
                Assert.Equal(c.GetProperty("truncated").GetBoolean(), output.Inputs.Truncated[b]);

                // Padded positions included: the golden values include them too.
                for (int t = 0; t < output.SequenceLength; t++)
                {
                    worst = Math.Max(worst, Compare(c.GetProperty("last_hidden_state")[b][t], output.HiddenState(b, t), $"{name} hidden[{b}][{t}]"));
                }

                worst = Math.Max(worst, Compare(c.GetProperty("pooler_output")[b], output.Pooler(b), $"{name} pooler[{b}]"));
                worst = Math.Max(worst, Compare(c.GetProperty("sentence_embedding")[b], output.Sentence(b), $"{name} sentence[{b}]"));
                Assert.Equal(h, output.Sentence(b).Length);
            }
        }

        // Float32 inference sits far inside the tolerance (the README measured ≤ 2e-6); catch drift early.
        Assert.True(worst < 2e-5, $"max |diff| {worst:E2}");
    }

    private static double Compare(JsonElement expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.GetArrayLength(), actual.Length);
        double worst = 0;
        int i = 0;
        foreach (var e in expected.EnumerateArray())
        {
            double diff = Math.Abs(e.GetDouble() - actual[i]);
            Assert.True(diff <= Tolerance, $"{what}[{i}]: expected {e.GetDouble()}, got {actual[i]}");
            worst = Math.Max(worst, diff);
            i++;
        }

        return worst;
    }

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    private static int[] Ints(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];
}
