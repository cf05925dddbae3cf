using System.Numerics.Tensors;
using Persona.Numerics;

namespace Persona.Core.Retrieval;

/// <summary>
/// An inverted-file partition of a vector matrix for approximate maximum-inner-product search: k-means centroids
/// (√rows of them, fitted on a sample) and the rows of each cluster. A query scores the centroids and scans only the
/// rows of the best-scoring clusters, so it touches about <see cref="ProbeFraction"/> of the catalog. Maintained row by
/// row as the matrix changes; not thread-safe (the owning index serialises writers and readers).
/// </summary>
public sealed class IvfPartition
{
    /// <summary>Share of the clusters a query scans.</summary>
    public const double ProbeFraction = 0.08;

    private readonly float[] _centroids;  // (clusters, dim)
    private readonly float[] _halfNorms;  // ½‖c‖² per cluster: nearest in L2 = argmax(x·c − ½‖c‖²)
    private readonly List<int>[] _members;
    private int[] _clusterOf;

    private IvfPartition(int dimension, float[] centroids, int rowsCapacity)
    {
        _centroids = centroids;
        Clusters = centroids.Length / dimension;
        _halfNorms = HalfNorms(centroids, dimension);
        _members = new List<int>[Clusters];
        for (var c = 0; c < Clusters; c++) _members[c] = [];
        _clusterOf = new int[Math.Max(16, rowsCapacity)];
    }

    public int Clusters { get; }

    /// <summary>Rows the partition was built for; the owner rebuilds when the matrix has grown well past it.</summary>
    public int BuiltFor { get; private init; }

    /// <summary>
    /// Fits √rows centroids by k-means (Lloyd, <paramref name="iterations"/> rounds) on a sample of the rows, then
    /// assigns every row. <paramref name="matrix"/> is (rows, dim).
    /// </summary>
    public static IvfPartition Build(ReadOnlySpan<float> matrix, int rows, int dimension, int seed = 17, int iterations = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        var clusters = Math.Max(1, (int)Math.Sqrt(rows));
        var random = new Random(seed);
        var sample = Enumerable.Range(0, rows).OrderBy(_ => random.Next()).Take(Math.Min(rows, 48 * clusters)).ToArray();
        var centroids = new float[clusters * dimension];
        for (var c = 0; c < clusters; c++) matrix.Slice(sample[c % sample.Length] * dimension, dimension).CopyTo(centroids.AsSpan(c * dimension));

        var scores = new float[clusters];
        var sums = new float[clusters * dimension];
        var counts = new int[clusters];
        for (var round = 0; round < iterations; round++)
        {
            var halfNorms = HalfNorms(centroids, dimension);
            Array.Clear(sums);
            Array.Clear(counts);
            foreach (var row in sample)
            {
                var x = matrix.Slice(row * dimension, dimension);
                var c = Nearest(centroids, halfNorms, x, scores);
                TensorPrimitives.Add(sums.AsSpan(c * dimension, dimension), x, sums.AsSpan(c * dimension, dimension));
                counts[c]++;
            }
            for (var c = 0; c < clusters; c++)
            {
                var centroid = centroids.AsSpan(c * dimension, dimension);
                // An empty cluster restarts at a random sample row rather than staying dead.
                if (counts[c] == 0) matrix.Slice(sample[random.Next(sample.Length)] * dimension, dimension).CopyTo(centroid);
                else TensorPrimitives.Multiply(sums.AsSpan(c * dimension, dimension), 1f / counts[c], centroid);
            }
        }

        var built = new IvfPartition(dimension, centroids, rows) { BuiltFor = rows };
        for (var row = 0; row < rows; row++) built.Set(row, matrix.Slice(row * dimension, dimension), scores);
        return built;
    }

    /// <summary>Files row <paramref name="row"/> (new or changed) under the cluster nearest to <paramref name="vector"/>.</summary>
    public void Set(int row, ReadOnlySpan<float> vector, float[]? scratch = null)
    {
        if (row >= _clusterOf.Length) Array.Resize(ref _clusterOf, Math.Max(row + 1, 2 * _clusterOf.Length));
        var cluster = Nearest(_centroids, _halfNorms, vector, scratch ?? new float[Clusters]);
        var previous = _clusterOf[row] - 1; // stored +1, so 0 means "not filed"
        if (previous == cluster) return;
        if (previous >= 0) _members[previous].Remove(row);
        _members[cluster].Add(row);
        _clusterOf[row] = cluster + 1;
    }

    /// <summary>Row <paramref name="row"/> is gone and row <paramref name="last"/> moved into its place (the owner's swap-remove).</summary>
    public void Remove(int row, int last)
    {
        var cluster = _clusterOf[row] - 1;
        if (cluster >= 0) _members[cluster].Remove(row);
        _clusterOf[row] = 0;
        if (row == last) return;
        var moved = _clusterOf[last] - 1;
        if (moved >= 0)
        {
            var members = _members[moved];
            members[members.IndexOf(last)] = row;
        }
        _clusterOf[row] = _clusterOf[last];
        _clusterOf[last] = 0;
    }

    /// <summary>The rows of the clusters whose centroids score best with <paramref name="query"/> (inner product), best cluster first.</summary>
    public List<int> Candidates(ReadOnlySpan<float> query, double probeFraction = ProbeFraction)
    {
        var scores = new float[Clusters];
        RowDots.Compute(_centroids, query, scores); // (clusters, dim) · (dim) → (clusters)
        var probes = Math.Clamp((int)Math.Ceiling(Clusters * probeFraction), 1, Clusters);
        var rows = new List<int>();
        foreach (var cluster in RowDots.TopRows(scores, Clusters, probes).Take(probes)) rows.AddRange(_members[cluster]);
        return rows;
    }

    private static float[] HalfNorms(float[] centroids, int dimension)
    {
        var halfNorms = new float[centroids.Length / dimension];
        for (var c = 0; c < halfNorms.Length; c++)
        {
            var centroid = centroids.AsSpan(c * dimension, dimension);
            halfNorms[c] = 0.5f * TensorPrimitives.Dot(centroid, centroid);
        }
        return halfNorms;
    }

    /// <summary>The centroid nearest to <paramref name="x"/> in L2: argmax(x·c − ½‖c‖²).</summary>
    private static int Nearest(float[] centroids, float[] halfNorms, ReadOnlySpan<float> x, float[] scores)
    {
        RowDots.Compute(centroids, x, scores); // (clusters, dim) · (dim) → (clusters)
        var best = 0;
        var bestScore = float.NegativeInfinity;
        for (var c = 0; c < halfNorms.Length; c++)
        {
            var score = scores[c] - halfNorms[c];
            if (score > bestScore)
            {
                bestScore = score;
                best = c;
            }
        }
        return best;
    }
}
