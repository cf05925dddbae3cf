using System.Diagnostics;
using Persona.Core.Retrieval;
using Persona.Core.Search;
using Persona.Numerics;

namespace Persona.Benchmarks;

/// <summary>
/// The search index's semantic leg on a store's own vectors: <c>--search-ann DATA_DIR --queries FILE</c> loads the newest
/// stored search encoder with its item vectors and their stored partition (written once a catalog above the exact limit
/// was partitioned), encodes each line of FILE as a query, and compares the clusters' pool (the best
/// <see cref="ProductSearchOptions.CandidatePool"/> at or above <see cref="ProductSearchOptions.MinSemanticSimilarity"/>)
/// with the exact scan's: recall (an item scoring at least the exact pool's last counts, so ties do not), rows scored
/// and time per query, the matrix laid out cluster by cluster as the index lays it out.
/// </summary>
public static class SearchAnnProbe
{
    public static void Run(string[] args)
    {
        var dataDirectory = Value(args, "--search-ann") ?? throw new ArgumentException("--search-ann DATA_DIR is required.");
        var queries = File.ReadAllLines(Value(args, "--queries") ?? throw new ArgumentException("--queries FILE is required (one query a line)."))
            .Where(q => q.Trim().Length > 0).ToArray();
        var probe = double.Parse(Value(args, "--probe") ?? IvfPartition.ProbeFraction.ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
        var repository = SemanticEncoderRepository.ForDataDirectory(dataDirectory);
        var versions = repository.ListVersions();
        var version = versions.Count > 0 ? versions[^1] : throw new InvalidOperationException($"No stored search encoder under {repository.Root}.");
        var manifest = System.Text.Json.JsonSerializer.Deserialize<SemanticEncoderManifest>(
            File.ReadAllText(Path.Combine(repository.Root, version, SemanticEncoderManifest.FileName)), Persona.Abstractions.PersonaJson.Options)
            ?? throw new InvalidDataException($"The manifest of {version} is empty.");
        var trained = new SemanticEncoderOptions { Dimension = manifest.Dimension, Buckets = manifest.Buckets, Epochs = manifest.Epochs };
        var (encoder, _) = repository.LoadNewestFitting(manifest.Items, trained) ?? throw new InvalidOperationException($"The encoder {version} could not be read.");
        var dim = encoder.Dimension;
        var stored = repository.LoadVectors(encoder.Version, dim) ?? throw new InvalidOperationException($"No stored vectors for {encoder.Version}.");
        if (stored.Centroids is not { } centroids) throw new InvalidOperationException("The stored vectors carry no partition: start the server on this store once (it partitions catalogs above the exact limit and stores the result).");

        // Rows in cluster order, as ProductSearchIndex.InClusterOrder lays them out.
        var items = stored.Items.Values.OrderBy(i => i.Cluster).ToArray();
        var rows = items.Length;
        var matrix = new float[(long)rows * dim > Array.MaxLength ? throw new InvalidOperationException("Too many vectors.") : rows * dim];
        var partition = IvfPartition.Restore(centroids, dim, rows, stored.PartitionRows);
        for (var r = 0; r < rows; r++)
        {
            items[r].Vector.CopyTo(matrix.AsSpan(r * dim, dim));
            if (items[r].Cluster >= 0 && items[r].Cluster < partition.Clusters) partition.Place(r, items[r].Cluster);
            else partition.Set(r, items[r].Vector);
        }
        partition.Publish();

        var options = new ProductSearchOptions();
        int pool = options.CandidatePool;
        var floor = (float)options.MinSemanticSimilarity;
        var scores = new float[rows];
        double exactMs = 0, approximateMs = 0, scored = 0, wanted = 0, hit = 0, wantedHead = 0, hitHead = 0;
        foreach (var text in queries)
        {
            var query = encoder.Encode(text);
            var start = Stopwatch.GetTimestamp();
            RowDots.Compute(matrix, query, scores); // (rows, dim) · (dim) → (rows)
            var truth = RowDots.TopRows(scores, rows, pool).Where(r => scores[r] > 0 && scores[r] >= floor).Take(pool).Select(r => scores[r]).ToArray();
            exactMs += Stopwatch.GetElapsedTime(start).TotalMilliseconds;

            start = Stopwatch.GetTimestamp();
            var near = new List<float>();
            foreach (var cluster in partition.ProbedClusters(query, probe))
            {
                for (var i = 0; i < cluster.Length;)
                {
                    var length = 1;
                    while (i + length < cluster.Length && cluster[i + length] == cluster[i] + length) length++;
                    var part = new float[length];
                    RowDots.Compute(matrix.AsSpan(cluster[i] * dim, length * dim), query, part);
                    near.AddRange(part);
                    i += length;
                }
            }
            var nearScores = near.ToArray();
            var approximate = RowDots.TopRows(nearScores, nearScores.Length, pool).Where(r => nearScores[r] > 0 && nearScores[r] >= floor).Take(pool).Select(r => nearScores[r]).ToArray();
            approximateMs += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            scored += nearScores.Length;
            wanted += truth.Length;
            if (truth.Length > 0) hit += Math.Min(truth.Length, approximate.Count(s => s >= truth[^1] - 1e-6f));
            var head = Math.Min(Head, truth.Length);
            wantedHead += head;
            if (head > 0) hitHead += Math.Min(head, approximate.Take(head).Count(s => s >= truth[head - 1] - 1e-6f));
        }
        Console.WriteLine($"{rows:N0} vectors (d {dim}, encoder {encoder.Version}), {partition.Clusters:N0} clusters, probing {probe:P0}; {queries.Length:N0} queries, pool {pool} at cosine ≥ {floor}");
        Console.WriteLine($"recall of the pool {(wanted == 0 ? 1 : hit / wanted):0.000} ({wanted / queries.Length:0.0} items a query in the exact pool), of its first {Head} {(wantedHead == 0 ? 1 : hitHead / wantedHead):0.000}; rows scored {scored / queries.Length:N0} a query; exact {exactMs / queries.Length:0.00} ms/query, clusters {approximateMs / queries.Length:0.00} ms/query");
    }

    private const int Head = 20;

    private static string? Value(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }
}
