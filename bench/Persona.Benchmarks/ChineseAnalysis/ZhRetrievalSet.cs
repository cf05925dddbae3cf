using Persona.Core.Search;
using Persona.Text;

namespace Persona.Benchmarks.ChineseAnalysis;

/// <summary>A query with the ids of the titles that answer it.</summary>
public sealed record JudgedQuery(string Text, HashSet<int> Relevant);

/// <summary>
/// Lexical retrieval sets over the Taobao titles (every distinct title of train, dev and test is a document; its id is
/// its position). Each protocol comes with two gradings: by substring (a title is relevant when it contains the query's
/// strings, which favours character n-grams, since they match any substring) and by the annotators' entity tags (a
/// title is relevant when it was tagged with those very words, which favours neither analyzer).
/// </summary>
public sealed class ZhRetrievalSet
{
    public required string Name { get; init; }
    public required IReadOnlyList<JudgedQuery> Queries { get; init; }

    /// <summary>Distinct titles with the normalised text of each tagged entity, by tag.</summary>
    public sealed record Titles(IReadOnlyList<string> Text, IReadOnlyList<string> Normalized, IReadOnlyList<List<(string Tag, string Text)>> Entities)
    {
        public static Titles Read(string directory)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var text = new List<string>();
            var entities = new List<List<(string Tag, string Text)>>();
            foreach (var file in new[] { "train.txt", "dev.txt", "test.txt" })
            {
                var path = Path.Combine(directory, file);
                if (!File.Exists(path)) throw new FileNotFoundException($"Taobao titles file missing: {path}");
                foreach (var (title, tagged) in SearchEvaluator.ReadBio(path))
                {
                    if (!seen.Add(title)) continue;
                    text.Add(title);
                    entities.Add([.. tagged.Select(e => (e.Tag, TextNormalizer.Normalize(e.Text)))]);
                }
            }
            return new Titles(text, [.. text.Select(TextNormalizer.Normalize)], entities);
        }
    }

    /// <summary>
    /// The protocol of <see cref="SearchEvaluator.TaobaoTitlesAsync"/>: each distinct (product word, brand) pair tagged in one
    /// title is the query "product brand", <paramref name="maxQueries"/> of them drawn with <paramref name="seed"/>.
    /// </summary>
    public static IEnumerable<ZhRetrievalSet> ProductBrand(Titles titles, int maxQueries, int seed)
    {
        var pairs = new List<(string Product, string Brand)>();
        foreach (var entities in titles.Entities)
        {
            var product = entities.FirstOrDefault(e => e.Tag == "HCCX").Text;
            var brand = entities.FirstOrDefault(e => e.Tag == "HPPX").Text;
            if (product is { Length: > 0 } && brand is { Length: > 0 }) pairs.Add((product, brand));
        }
        var random = new Random(seed);
        var drawn = pairs.Distinct().OrderBy(_ => random.Next()).Take(maxQueries).ToList();
        yield return new ZhRetrievalSet
        {
            Name = "taobao product+brand, substring",
            Queries = [.. drawn.Select(q => new JudgedQuery($"{q.Product} {q.Brand}", Matching(titles, t => titles.Normalized[t].Contains(q.Product, StringComparison.Ordinal) && titles.Normalized[t].Contains(q.Brand, StringComparison.Ordinal))))],
        };
        yield return new ZhRetrievalSet
        {
            Name = "taobao product+brand, entity tags",
            Queries = [.. drawn.Select(q => new JudgedQuery($"{q.Product} {q.Brand}", Matching(titles, t => titles.Entities[t].Contains(("HCCX", q.Product)) && titles.Entities[t].Contains(("HPPX", q.Brand)))))],
        };
    }

    /// <summary>
    /// Real Taobao search queries (Multi-CPR; its product corpus and judgments are not available) against the titles:
    /// by substring, a query answers the titles containing it whole; by entity tags, a query answers the titles tagged
    /// with an entity spelt exactly as the query. Queries answering no title are skipped; <paramref name="maxQueries"/>
    /// drawn with <paramref name="seed"/> for each grading.
    /// </summary>
    public static IEnumerable<ZhRetrievalSet> MultiCprQueries(Titles titles, string directory, int maxQueries, int seed)
    {
        var queries = new List<string>();
        foreach (var file in new[] { "dev.query.txt", "train.query.txt" })
        {
            var path = Path.Combine(directory, file);
            if (!File.Exists(path)) throw new FileNotFoundException($"Multi-CPR queries file missing: {path}");
            foreach (var line in File.ReadLines(path))
            {
                var tab = line.IndexOf('\t');
                if (tab > 0 && tab + 1 < line.Length) queries.Add(TextNormalizer.Normalize(line[(tab + 1)..]).Trim());
            }
        }
        var random = new Random(seed);
        var shuffled = queries.Where(q => q.Any(TextAnalyzer.IsCjk)).Distinct().OrderBy(_ => random.Next()).ToList();

        var byBigram = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var t = 0; t < titles.Normalized.Count; t++)
        {
            var s = titles.Normalized[t];
            foreach (var bigram in Enumerable.Range(0, Math.Max(0, s.Length - 1)).Select(k => s.Substring(k, 2)).Distinct())
                (byBigram.TryGetValue(bigram, out var list) ? list : byBigram[bigram] = []).Add(t);
        }
        var byEntity = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);
        for (var t = 0; t < titles.Entities.Count; t++)
            foreach (var (_, text) in titles.Entities[t])
                (byEntity.TryGetValue(text, out var set) ? set : byEntity[text] = []).Add(t);

        var substring = new List<JudgedQuery>();
        var entity = new List<JudgedQuery>();
        foreach (var q in shuffled)
        {
            if (substring.Count >= maxQueries && entity.Count >= maxQueries) break;
            if (substring.Count < maxQueries && q.Length >= 2)
            {
                // Only titles holding the query's rarest character pair can contain it.
                var rarest = Enumerable.Range(0, q.Length - 1).Select(k => byBigram.GetValueOrDefault(q.Substring(k, 2)) ?? []).MinBy(l => l.Count)!;
                var relevant = rarest.Where(t => titles.Normalized[t].Contains(q, StringComparison.Ordinal)).ToHashSet();
                if (relevant.Count > 0) substring.Add(new JudgedQuery(q, relevant));
            }
            if (entity.Count < maxQueries && byEntity.TryGetValue(q, out var tagged)) entity.Add(new JudgedQuery(q, tagged));
        }
        yield return new ZhRetrievalSet { Name = "multi-cpr queries, substring", Queries = substring };
        yield return new ZhRetrievalSet { Name = "multi-cpr queries, entity tags", Queries = entity };
    }

    private static HashSet<int> Matching(Titles titles, Func<int, bool> relevant) =>
        [.. Enumerable.Range(0, titles.Normalized.Count).Where(relevant)];
}
