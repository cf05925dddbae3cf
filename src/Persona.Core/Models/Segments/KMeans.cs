namespace Persona.Core.Models.Segments;

/// <summary>A k-means fit: centroids (k, d) row-major, an assignment per row, and the within-cluster sum of squares.</summary>
public sealed record KMeansResult(int K, int Dimensions, double[] Centroids, int[] Assignments, double Inertia)
{
    public ReadOnlySpan<double> Centroid(int c) => Centroids.AsSpan(c * Dimensions, Dimensions);
}

/// <summary>
/// Lloyd's k-means with k-means++ seeding (D² sampling), best of <c>restarts</c> by inertia. Deterministic
/// for a seed: every random draw comes from one seeded <see cref="Random"/>, and ties go to the lower index.
/// </summary>
public static class KMeans
{
    public static KMeansResult Fit(ReadOnlySpan<double> x, int n, int d, int k, int seed, int restarts = 3, int maxIterations = 100)
    {
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"k must be between 1 and the number of rows ({n}).");
        var rng = new Random(seed);
        KMeansResult? best = null;
        for (var r = 0; r < restarts; r++)
        {
            var result = Run(x, n, d, k, rng, maxIterations);
            if (best is null || result.Inertia < best.Inertia - 1e-9) best = result;
        }
        return best!;
    }

    private static KMeansResult Run(ReadOnlySpan<double> x, int n, int d, int k, Random rng, int maxIterations)
    {
        var centroids = PlusPlus(x, n, d, k, rng); // (k, d)
        var assign = new int[n];
        Array.Fill(assign, -1);
        var counts = new int[k];
        var inertia = 0.0;
        for (var iteration = 0; iteration < maxIterations; iteration++)
        {
            var changed = 0;
            inertia = 0;
            for (var i = 0; i < n; i++)
            {
                var (c, dist) = Nearest(x.Slice(i * d, d), centroids, k, d);
                inertia += dist;
                if (c != assign[i]) changed++;
                assign[i] = c;
            }
            if (changed == 0) break;
            Array.Clear(centroids);
            Array.Clear(counts);
            for (var i = 0; i < n; i++)
            {
                var c = assign[i];
                counts[c]++;
                for (var j = 0; j < d; j++) centroids[c * d + j] += x[i * d + j];
            }
            for (var c = 0; c < k; c++)
            {
                if (counts[c] == 0)
                {
                    // An emptied cluster restarts at the row farthest from its centroid.
                    var far = FarthestRow(x, n, d, centroids, assign);
                    x.Slice(far * d, d).CopyTo(centroids.AsSpan(c * d, d));
                    continue;
                }
                for (var j = 0; j < d; j++) centroids[c * d + j] /= counts[c];
            }
        }
        return new KMeansResult(k, d, centroids, assign, inertia);
    }

    private static double[] PlusPlus(ReadOnlySpan<double> x, int n, int d, int k, Random rng)
    {
        var centroids = new double[k * d];
        var first = rng.Next(n);
        x.Slice(first * d, d).CopyTo(centroids);
        var dist = new double[n];
        for (var i = 0; i < n; i++) dist[i] = SquaredDistance(x.Slice(i * d, d), centroids.AsSpan(0, d));
        for (var c = 1; c < k; c++)
        {
            var total = dist.Sum();
            var pick = n - 1;
            if (total > 0)
            {
                var target = rng.NextDouble() * total;
                for (var i = 0; i < n; i++)
                {
                    target -= dist[i];
                    if (target <= 0)
                    {
                        pick = i;
                        break;
                    }
                }
            }
            else
            {
                pick = rng.Next(n);
            }
            x.Slice(pick * d, d).CopyTo(centroids.AsSpan(c * d, d));
            for (var i = 0; i < n; i++) dist[i] = Math.Min(dist[i], SquaredDistance(x.Slice(i * d, d), centroids.AsSpan(c * d, d)));
        }
        return centroids;
    }

    /// <summary>The nearest centroid and the squared distance to it.</summary>
    public static (int Cluster, double SquaredDistance) Nearest(ReadOnlySpan<double> row, ReadOnlySpan<double> centroids, int k, int d)
    {
        var best = 0;
        var bestDist = double.PositiveInfinity;
        for (var c = 0; c < k; c++)
        {
            var dist = SquaredDistance(row, centroids.Slice(c * d, d));
            if (dist < bestDist)
            {
                bestDist = dist;
                best = c;
            }
        }
        return (best, bestDist);
    }

    private static int FarthestRow(ReadOnlySpan<double> x, int n, int d, double[] centroids, int[] assign)
    {
        var far = 0;
        var farDist = -1.0;
        for (var i = 0; i < n; i++)
        {
            var dist = SquaredDistance(x.Slice(i * d, d), centroids.AsSpan(assign[i] * d, d));
            if (dist > farDist)
            {
                farDist = dist;
                far = i;
            }
        }
        return far;
    }

    public static double SquaredDistance(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var s = 0.0;
        for (var j = 0; j < a.Length; j++)
        {
            var t = a[j] - b[j];
            s += t * t;
        }
        return s;
    }
}

/// <summary>Cluster quality measures.</summary>
public static class ClusterMetrics
{
    /// <summary>Mean silhouette over the rows (O(n²·d): pass a sample). Singletons score 0.</summary>
    public static double Silhouette(ReadOnlySpan<double> x, int n, int d, ReadOnlySpan<int> labels, int k)
    {
        var sums = new double[k];
        var sizes = new int[k];
        for (var i = 0; i < n; i++) sizes[labels[i]]++;
        var total = 0.0;
        for (var i = 0; i < n; i++)
        {
            Array.Clear(sums);
            var row = x.Slice(i * d, d);
            for (var m = 0; m < n; m++)
                if (m != i) sums[labels[m]] += Math.Sqrt(KMeans.SquaredDistance(row, x.Slice(m * d, d)));
            var own = labels[i];
            if (sizes[own] <= 1) continue;
            var a = sums[own] / (sizes[own] - 1);
            var b = double.PositiveInfinity;
            for (var c = 0; c < k; c++)
                if (c != own && sizes[c] > 0) b = Math.Min(b, sums[c] / sizes[c]);
            if (double.IsInfinity(b)) continue;
            total += (b - a) / Math.Max(a, b);
        }
        return n == 0 ? 0 : total / n;
    }

    /// <summary>Adjusted Rand index between two labelings (1 = identical partitions, ≈0 = chance).</summary>
    public static double AdjustedRandIndex(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        if (a.Count != b.Count) throw new ArgumentException("Labelings must have the same length.");
        var table = new Dictionary<(int, int), long>();
        var rows = new Dictionary<int, long>();
        var cols = new Dictionary<int, long>();
        for (var i = 0; i < a.Count; i++)
        {
            table[(a[i], b[i])] = table.GetValueOrDefault((a[i], b[i])) + 1;
            rows[a[i]] = rows.GetValueOrDefault(a[i]) + 1;
            cols[b[i]] = cols.GetValueOrDefault(b[i]) + 1;
        }
        static double Pairs(long m) => m * (m - 1) / 2.0;
        var index = table.Values.Sum(Pairs);
        var sumRows = rows.Values.Sum(Pairs);
        var sumCols = cols.Values.Sum(Pairs);
        var expected = sumRows * sumCols / Pairs(a.Count);
        var max = (sumRows + sumCols) / 2;
        return max - expected == 0 ? 1 : (index - expected) / (max - expected);
    }
}

/// <summary>Principal components by power iteration with deflation on the (d, d) covariance.</summary>
public static class Pca
{
    /// <summary>The top <paramref name="components"/> unit eigenvectors, (components, d) row-major, each signed so its largest entry is positive.</summary>
    public static double[] Fit(ReadOnlySpan<double> x, int n, int d, int components = 2)
    {
        var mean = new double[d];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < d; j++) mean[j] += x[i * d + j];
        for (var j = 0; j < d; j++) mean[j] /= Math.Max(1, n);
        var cov = new double[d * d]; // (d, d)
        var centered = new double[d];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < d; j++) centered[j] = x[i * d + j] - mean[j];
            for (var j = 0; j < d; j++)
                for (var m = 0; m <= j; m++) cov[j * d + m] += centered[j] * centered[m];
        }
        for (var j = 0; j < d; j++)
            for (var m = 0; m <= j; m++) cov[m * d + j] = cov[j * d + m] /= Math.Max(1, n - 1);

        var result = new double[components * d];
        var v = new double[d];
        var next = new double[d];
        for (var c = 0; c < components; c++)
        {
            // A fixed, non-symmetric start so the iteration is deterministic and unlikely to be orthogonal to the answer.
            for (var j = 0; j < d; j++) v[j] = 1.0 + 0.1 * j;
            Normalize(v);
            for (var iteration = 0; iteration < 300; iteration++)
            {
                for (var j = 0; j < d; j++)
                {
                    var s = 0.0;
                    for (var m = 0; m < d; m++) s += cov[j * d + m] * v[m];
                    next[j] = s;
                }
                if (Normalize(next) == 0) break;
                var delta = 0.0;
                for (var j = 0; j < d; j++) delta += Math.Abs(next[j] - v[j]);
                next.CopyTo(v, 0);
                if (delta < 1e-10) break;
            }
            var maxIndex = 0;
            for (var j = 1; j < d; j++) if (Math.Abs(v[j]) > Math.Abs(v[maxIndex])) maxIndex = j;
            if (v[maxIndex] < 0) for (var j = 0; j < d; j++) v[j] = -v[j];
            v.CopyTo(result, c * d);
            // Deflate: remove this component's variance so the next iteration finds the next one.
            var lambda = 0.0;
            for (var j = 0; j < d; j++)
                for (var m = 0; m < d; m++) lambda += v[j] * cov[j * d + m] * v[m];
            for (var j = 0; j < d; j++)
                for (var m = 0; m < d; m++) cov[j * d + m] -= lambda * v[j] * v[m];
        }
        return result;
    }

    private static double Normalize(double[] v)
    {
        var norm = Math.Sqrt(v.Sum(t => t * t));
        if (norm == 0) return 0;
        for (var j = 0; j < v.Length; j++) v[j] /= norm;
        return norm;
    }
}
