using System.Numerics.Tensors;
using Persona.Numerics;

namespace Persona.Core.Retrieval;

/// <summary>
/// An inverted-file partition of a vector matrix for approximate maximum-inner-product search: k-means centroids
/// (√rows of them, fitted on a sample) and the rows of each cluster. A query scores the centroids and scans only the
/// rows of the best-scoring clusters, so it touches about <see cref="ProbeFraction"/> of the catalog. Maintained row by
/// row as the matrix changes by one writer at a time (<see cref="Set"/>, <see cref="Unfile"/>, <see cref="Remove"/>),
/// whose changes readers see after <see cref="Publish"/>; any number of readers may call <see cref="ProbedClusters"/>
/// meanwhile: each cluster's rows are an array that is replaced whole, never changed.
/// </summary>
public sealed class IvfPartition
{
    /// <summary>Share of the clusters a query scans.</summary>
    public const double ProbeFraction = 0.08;

    /// <summary>Row <c>row</c> of a (rows, dim) matrix, however it is laid out.</summary>
    public delegate ReadOnlySpan<float> RowReader(int row);

    private readonly float[] _centroids;  // (clusters, dim)
    private readonly float[] _halfNorms;  // ½‖c‖² per cluster: nearest in L2 = argmax(x·c − ½‖c‖²)
    private readonly int[][] _published;  // what readers scan
    private readonly List<int>[] _members; // the writer's working copy
    private readonly HashSet<int> _changed = [];
    private readonly float[] _scratch;
    private int[] _clusterOf;             // cluster + 1 per row, 0: not filed

    private IvfPartition(int dimension, float[] centroids, int rowsCapacity)
    {
        _centroids = centroids;
        Clusters = centroids.Length / dimension;
        _halfNorms = HalfNorms(centroids, dimension);
        _members = new List<int>[Clusters];
        _published = new int[Clusters][];
        for (var c = 0; c < Clusters; c++)
        {
            _members[c] = [];
            _published[c] = [];
        }
        _scratch = new float[Clusters];
        _clusterOf = new int[Math.Max(16, rowsCapacity)];
    }

    public int Clusters { get; }

    /// <summary>Rows the partition was built for; the owner rebuilds when the matrix has grown well past it.</summary>
    public int BuiltFor { get; private init; }

    /// <summary>A partition of the first <paramref name="rows"/> rows of a contiguous (rows, dim) matrix.</summary>
    public static IvfPartition Build(float[] matrix, int rows, int dimension, int seed = 17, int iterations = 8) =>
        Build(row => matrix.AsSpan(row * dimension, dimension), rows, dimension, null, seed, iterations);

    /// <summary>
    /// Fits √rows centroids by k-means (Lloyd, <paramref name="iterations"/> rounds) on a sample of the rows
    /// <paramref name="filed"/> accepts (all when null), then assigns each of them, on every core.
    /// </summary>
    public static IvfPartition Build(RowReader rowOf, int rows, int dimension, Func<int, bool>? filed = null, int seed = 17, int iterations = 8,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        var eligible = filed is null ? Enumerable.Range(0, rows).ToArray() : Enumerable.Range(0, rows).Where(filed).ToArray();
        if (eligible.Length == 0) eligible = [0];
        var clusters = Math.Max(1, (int)Math.Sqrt(eligible.Length));
        var random = new Random(seed);
        random.Shuffle(eligible.AsSpan());
        var sample = eligible.AsSpan(0, Math.Min(eligible.Length, 48 * clusters)).ToArray();
        var centroids = new float[clusters * dimension];
        for (var c = 0; c < clusters; c++) rowOf(sample[c % sample.Length]).CopyTo(centroids.AsSpan(c * dimension));

        var nearest = new int[sample.Length];
        var sums = new float[clusters * dimension];
        var counts = new int[clusters];
        for (var round = 0; round < iterations; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var halfNorms = HalfNorms(centroids, dimension);
            var fitted = centroids;
            Parallel.For(0, sample.Length, () => new float[clusters], (i, _, scores) =>
            {
                nearest[i] = Nearest(fitted, halfNorms, rowOf(sample[i]), scores);
                return scores;
            }, static _ => { });
            Array.Clear(sums);
            Array.Clear(counts);
            for (var i = 0; i < sample.Length; i++)
            {
                var c = nearest[i];
                TensorPrimitives.Add(sums.AsSpan(c * dimension, dimension), rowOf(sample[i]), sums.AsSpan(c * dimension, dimension));
                counts[c]++;
            }
            for (var c = 0; c < clusters; c++)
            {
                var centroid = centroids.AsSpan(c * dimension, dimension);
                // An empty cluster restarts at a random sample row rather than staying dead.
                if (counts[c] == 0) rowOf(sample[random.Next(sample.Length)]).CopyTo(centroid);
                else TensorPrimitives.Multiply(sums.AsSpan(c * dimension, dimension), 1f / counts[c], centroid);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var built = new IvfPartition(dimension, centroids, rows) { BuiltFor = rows };
        var assigned = new int[eligible.Length];
        Parallel.For(0, eligible.Length, () => new float[clusters], (i, _, scores) =>
        {
            assigned[i] = Nearest(centroids, built._halfNorms, rowOf(eligible[i]), scores);
            return scores;
        }, static _ => { });
        Array.Sort(eligible, assigned); // rows in order within each cluster
        for (var i = 0; i < eligible.Length; i++)
        {
            if (filed is not null && !filed(eligible[i])) continue; // the placeholder row of an empty matrix
            built._members[assigned[i]].Add(eligible[i]);
            built._clusterOf[eligible[i]] = assigned[i] + 1;
        }
        for (var c = 0; c < clusters; c++) built._changed.Add(c);
        built.Publish();
        return built;
    }

    /// <summary>
    /// An empty partition around stored (clusters, dim) <paramref name="centroids"/>, which was built for
    /// <paramref name="builtFor"/> rows; rows are filed with <see cref="Place"/> or <see cref="Set"/>, then published.
    /// </summary>
    public static IvfPartition Restore(float[] centroids, int dimension, int rows, int builtFor)
    {
        ArgumentNullException.ThrowIfNull(centroids);
        if (centroids.Length == 0 || centroids.Length % dimension != 0) throw new ArgumentException($"Centroids must be a whole number of {dimension}-float rows.", nameof(centroids));
        return new IvfPartition(dimension, [.. centroids], rows) { BuiltFor = Math.Max(1, builtFor) };
    }

    /// <summary>The (clusters, dim) centroids, for storing the partition.</summary>
    public ReadOnlySpan<float> Centroids => _centroids;

    /// <summary>The cluster row <paramref name="row"/> is filed under; -1 when none.</summary>
    public int ClusterOf(int row) => row < _clusterOf.Length ? _clusterOf[row] - 1 : -1;

    /// <summary>Files row <paramref name="row"/> under cluster <paramref name="cluster"/> (as a stored partition had it).</summary>
    public void Place(int row, int cluster)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cluster);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(cluster, Clusters);
        if (row >= _clusterOf.Length) Array.Resize(ref _clusterOf, Math.Max(row + 1, 2 * _clusterOf.Length));
        var previous = _clusterOf[row] - 1;
        if (previous == cluster) return;
        if (previous >= 0) Drop(previous, row);
        _members[cluster].Add(row);
        _changed.Add(cluster);
        _clusterOf[row] = cluster + 1;
    }

    /// <summary>Files row <paramref name="row"/> (new or changed) under the cluster nearest to <paramref name="vector"/>.</summary>
    public void Set(int row, ReadOnlySpan<float> vector) => Place(row, Nearest(_centroids, _halfNorms, vector, _scratch));

    /// <summary>Row <paramref name="row"/> holds nothing any more (an empty slot).</summary>
    public void Unfile(int row)
    {
        if (row >= _clusterOf.Length || _clusterOf[row] == 0) return;
        Drop(_clusterOf[row] - 1, row);
        _clusterOf[row] = 0;
    }

    /// <summary>Row <paramref name="row"/> is gone and row <paramref name="last"/> moved into its place (the owner's swap-remove).</summary>
    public void Remove(int row, int last)
    {
        Unfile(row);
        if (row == last) return;
        var moved = _clusterOf[last] - 1;
        if (moved >= 0)
        {
            var members = _members[moved];
            members[members.IndexOf(last)] = row;
            _changed.Add(moved);
        }
        _clusterOf[row] = _clusterOf[last];
        _clusterOf[last] = 0;
    }

    /// <summary>The rows of cluster <paramref name="cluster"/> as published (ascending as built; rows filed since follow them).</summary>
    public int[] Members(int cluster) => Volatile.Read(ref _published[cluster]);

    /// <summary>
    /// The same clusters (and centroids) over renumbered rows: <paramref name="newRow"/>[old] is each row's new number
    /// (negative: gone); <paramref name="rows"/> is how many rows there are now.
    /// </summary>
    public IvfPartition Renumbered(ReadOnlySpan<int> newRow, int rows)
    {
        var renumbered = new IvfPartition(_centroids.Length / Clusters, _centroids, rows) { BuiltFor = BuiltFor };
        for (var c = 0; c < Clusters; c++)
        {
            var members = renumbered._members[c];
            foreach (var row in _members[c])
            {
                if (row >= newRow.Length || newRow[row] is var to && to < 0) continue;
                members.Add(to);
                renumbered._clusterOf[to] = c + 1;
            }
            members.Sort();
            renumbered._changed.Add(c);
        }
        renumbered.Publish();
        return renumbered;
    }

    /// <summary>Whether the writer changed clusters that readers do not see yet.</summary>
    public bool HasUnpublished => _changed.Count > 0;

    /// <summary>Makes the writer's changes since the last call visible to readers: each changed cluster gets a new array.</summary>
    public void Publish()
    {
        foreach (var c in _changed) Volatile.Write(ref _published[c], [.. _members[c]]);
        _changed.Clear();
    }

    /// <summary>
    /// The rows of the clusters whose centroids score best with <paramref name="query"/> (inner product), best cluster
    /// first, as published (<see cref="Members"/>).
    /// </summary>
    public int[][] ProbedClusters(ReadOnlySpan<float> query, double probeFraction = ProbeFraction)
    {
        var scores = new float[Clusters];
        RowDots.Compute(_centroids, query, scores); // (clusters, dim) · (dim) → (clusters)
        var probes = Math.Clamp((int)Math.Ceiling(Clusters * probeFraction), 1, Clusters);
        var best = RowDots.TopRows(scores, Clusters, probes);
        var rows = new int[Math.Min(probes, best.Length)][];
        for (var i = 0; i < rows.Length; i++) rows[i] = Volatile.Read(ref _published[best[i]]);
        return rows;
    }

    /// <summary>The rows of the best clusters for <paramref name="query"/> in one list (<see cref="ProbedClusters"/>).</summary>
    public List<int> Candidates(ReadOnlySpan<float> query, double probeFraction = ProbeFraction)
    {
        var rows = new List<int>();
        foreach (var cluster in ProbedClusters(query, probeFraction)) rows.AddRange(cluster);
        return rows;
    }

    private void Drop(int cluster, int row)
    {
        _members[cluster].Remove(row);
        _changed.Add(cluster);
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
