using System.Diagnostics;
using System.Globalization;
using Persona.Text;

namespace Persona.Benchmarks.ChineseAnalysis;

/// <summary>
/// Today's character n-grams against jieba.NET's word segmentation (default and search mode) for Chinese:
/// BM25 retrieval quality on the Taobao titles (<see cref="ZhRetrievalSet"/>) and analysis speed on one thread.
/// <c>--chinese-analysis [--titles DIR] [--queries DIR] [--max-queries 2000] [--speed-titles 50000] [--seed 7]</c>.
/// </summary>
public static class ChineseAnalysisComparison
{
    public static void Run(string[] args)
    {
        var titlesDirectory = Arg(args, "--titles") ?? "../shared/datasets/taobao-titles-zh";
        var queriesDirectory = Arg(args, "--queries") ?? "../shared/datasets/multi-cpr-queries-zh";
        var maxQueries = int.Parse(Arg(args, "--max-queries") ?? "2000", CultureInfo.InvariantCulture);
        var speedTitles = int.Parse(Arg(args, "--speed-titles") ?? "50000", CultureInfo.InvariantCulture);
        var seed = int.Parse(Arg(args, "--seed") ?? "7", CultureInfo.InvariantCulture);

        var titles = ZhRetrievalSet.Titles.Read(titlesDirectory);
        var sets = ZhRetrievalSet.ProductBrand(titles, maxQueries, seed)
            .Concat(ZhRetrievalSet.MultiCprQueries(titles, queriesDirectory, maxQueries, seed)).ToList();
        Console.WriteLine($"{titles.Text.Count:N0} distinct titles; " + string.Join("; ", sets.Select(s =>
            $"{s.Name}: {s.Queries.Count:N0} queries, {s.Queries.Average(q => q.Relevant.Count):0.0} relevant each")));

        var clock = Stopwatch.StartNew();
        var segmenter = ChineseAnalyzerVariant.CreateSegmenter();
        ChineseAnalyzerVariant.JiebaDefault(segmenter).Analyze("预热词典");
        Console.WriteLine($"jieba dictionary loaded in {clock.Elapsed.TotalSeconds:0.00} s");
        ChineseAnalyzerVariant[] variants = [ChineseAnalyzerVariant.Ngrams, ChineseAnalyzerVariant.JiebaDefault(segmenter), ChineseAnalyzerVariant.JiebaSearch(segmenter)];

        Console.WriteLine();
        Console.WriteLine("BM25 (k1 1.2, b 0.75, title only), top 100");
        Console.WriteLine($"{"set",-34} {"analysis",-13} {"MRR@10",7} {"NDCG@10",8} {"R@100",7} {"terms/title",12} {"vocabulary",11} {"vs ngram (MRR@10 per query)",28}");
        foreach (var set in sets)
        {
            RetrievalQuality? baseline = null;
            foreach (var variant in variants)
            {
                var (quality, termsPerTitle, vocabulary) = Evaluate(titles, set, variant);
                baseline ??= quality;
                var (better, worse) = quality.ComparedWith(baseline);
                Console.WriteLine($"{set.Name,-34} {variant.Name,-13} {quality.Mrr10,7:0.0000} {quality.Ndcg10,8:0.0000} {quality.Recall100,7:0.0000} {termsPerTitle,12:0.0} {vocabulary,11:N0} {$"{better} better, {worse} worse",28}");
            }
        }

        Console.WriteLine();
        Console.WriteLine($"Analysis speed, one thread, {speedTitles:N0} titles (the distinct titles repeated), best of 3 after a warm-up pass");
        foreach (var variant in variants)
        {
            var rate = TitlesPerSecond(titles.Text, speedTitles, variant);
            Console.WriteLine($"{variant.Name,-13} {rate,12:N0} titles/s");
        }
    }

    private static (RetrievalQuality Quality, double TermsPerTitle, int Vocabulary) Evaluate(
        ZhRetrievalSet.Titles titles, ZhRetrievalSet set, ChineseAnalyzerVariant variant)
    {
        using var index = new Bm25Index();
        long terms = 0;
        for (var t = 0; t < titles.Text.Count; t++)
        {
            var analysed = variant.Analyze(titles.Text[t]);
            terms += analysed.Count;
            index.Upsert(t.ToString(CultureInfo.InvariantCulture), [analysed]);
        }
        var quality = new RetrievalQuality();
        foreach (var query in set.Queries)
        {
            var ranked = index.Search(variant.Analyze(query.Text), 100);
            quality.Add(ranked.Select(r => int.Parse(r.Id, CultureInfo.InvariantCulture)), query.Relevant);
        }
        return (quality, terms / (double)titles.Text.Count, index.TermCount);
    }

    private static double TitlesPerSecond(IReadOnlyList<string> titles, int count, ChineseAnalyzerVariant variant)
    {
        long sink = 0;
        foreach (var title in titles) sink += variant.Analyze(title).Count;
        var best = double.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++) sink += variant.Analyze(titles[i % titles.Count]).Count;
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        GC.KeepAlive(sink);
        return count / best;
    }

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
