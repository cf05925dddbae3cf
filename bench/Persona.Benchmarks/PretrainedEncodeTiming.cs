using System.Diagnostics;
using System.Globalization;
using Persona.Pretrained;
using Persona.Text;
using BertOptions = Microsoft.ML.Tokenizers.BertOptions;
using BertTokenizer = Microsoft.ML.Tokenizers.BertTokenizer;

namespace Persona.Benchmarks;

/// <summary>
/// Catalog encoding speed of the packaged MiniLM (all-MiniLM-L6-v2) on ONNX Runtime and on our own BERT forward, same
/// titles, batch size and threads; and tokenizer speed, ours against Microsoft.ML.Tokenizers' BertTokenizer. Titles are
/// Amazon Beauty's item title keywords (<c>items.tsv</c>, third column), read in place.
/// </summary>
public static class PretrainedEncodeTiming
{
    // dotnet run -c Release --project bench/Persona.Benchmarks -- --pretrained-encode [--data DIR] [--items N] [--batch N] [--threads N] [--engines onnxruntime,own]
    public static void Run(string[] args)
    {
        string directory = Arg(args, "--data") ?? "../shared/datasets/amazon-beauty";
        int items = int.Parse(Arg(args, "--items") ?? "2000", CultureInfo.InvariantCulture);
        int batch = int.Parse(Arg(args, "--batch") ?? "32", CultureInfo.InvariantCulture);
        int threads = int.Parse(Arg(args, "--threads") ?? "2", CultureInfo.InvariantCulture);
        string[] engines = (Arg(args, "--engines") ?? "onnxruntime,own").Split(',');
        var titles = File.ReadLines(Path.Combine(directory, "items.tsv")).Skip(1)
            .Select(line => line.Split('\t')[2]).Where(t => t.Length > 0).ToList();
        Console.WriteLine($"{titles.Count} titles in {directory}/items.tsv; load average {File.ReadAllText("/proc/loadavg").Trim()}");

        TimeTokenizers(titles);
        foreach (string engine in engines)
        {
            var options = new PretrainedEncoderOptions
            {
                Engine = engine == "own" ? PretrainedEngine.Own : PretrainedEngine.OnnxRuntime,
                BatchSize = batch,
                Threads = threads,
            };
            var open = Stopwatch.StartNew();
            var encoder = PretrainedEncoders.Open(PretrainedEncoders.MiniLm, options);
            open.Stop();
            TimeEncoder(engine, encoder, titles.Take(items).ToList(), batch, open.Elapsed);
            (encoder as IDisposable)?.Dispose();
        }

        Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    private static void TimeEncoder(string engine, ITextEncoder encoder, List<string> titles, int batch, TimeSpan open)
    {
        // Warm-up: JIT and ONNX Runtime's first-run allocations on one batch.
        var warm = titles.Take(batch).ToList<string?>();
        encoder.EncodeBatch(warm, new float[warm.Count * encoder.Dimension]);
        var output = new float[titles.Count * encoder.Dimension];
        var watch = Stopwatch.StartNew();
        encoder.EncodeBatch(titles.ToList<string?>(), output);
        watch.Stop();
        Console.WriteLine(
            $"{engine,-12} MiniLM: {titles.Count} titles, batch {batch}: {titles.Count / watch.Elapsed.TotalSeconds,8:F1} items/s " +
            $"({watch.Elapsed.TotalSeconds:F2} s; model opened in {open.TotalSeconds:F1} s)");
    }

    private static void TimeTokenizers(List<string> titles)
    {
        var texts = Enumerable.Range(0, 10_000).Select(i => titles[i % titles.Count]).ToList();
        var package = MiniLmPackage.Read();
        var ours = new Persona.Neural.Text.WordPieceTokenizer(package.Vocabulary);
        using var vocab = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', package.Vocabulary)));
        var library = BertTokenizer.Create(vocab, new BertOptions { LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true });
        for (int round = 0; round < 2; round++)
        {
            // Round 0 warms up the JIT; round 1 is reported.
            long pieces = 0;
            var watch = Stopwatch.StartNew();
            foreach (string text in texts)
            {
                pieces += ours.Encode(text, maxLength: 256).Length;
            }

            double oursSeconds = watch.Elapsed.TotalSeconds;
            long libraryPieces = 0;
            watch.Restart();
            foreach (string text in texts)
            {
                libraryPieces += library.EncodeToIds(text, 256, addSpecialTokens: true, out _, out _).Count;
            }

            double librarySeconds = watch.Elapsed.TotalSeconds;
            if (round == 1)
            {
                Console.WriteLine(
                    $"tokenizers, {texts.Count} titles: ours {texts.Count / oursSeconds:F0} titles/s ({pieces} ids), " +
                    $"Microsoft.ML.Tokenizers {texts.Count / librarySeconds:F0} titles/s ({libraryPieces} ids)");
            }
        }
    }

    private static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
