namespace Persona.Core.Models.Propensity;

/// <summary>
/// Histogram-based gradient-boosted decision trees (second-order, XGBoost-style gains and Newton leaf
/// values) for log-loss or squared error. Features are cut into at most <see cref="MaxBins"/> quantile bins
/// once, so finding a node's best split costs O(rows in node × features) instead of a sort per node.
/// Deterministic for a seed (the seed drives row subsampling per round).
/// </summary>
public sealed class GradientBoostedTreesLearner : ILearner
{
    public const int MaxBins = 64;

    public int Rounds { get; init; } = 120;
    public double LearningRate { get; init; } = 0.08;
    public int MaxDepth { get; init; } = 4;
    public int MinRowsInLeaf { get; init; } = 20;
    public double L2 { get; init; } = 1.0;
    public double Subsample { get; init; } = 0.8;
    public int Seed { get; init; } = 17;

    public string Name => "gbdt";
    public bool Supports(LossKind loss) => true;

    public IPredictor Fit(Dataset data, LossKind loss)
    {
        var n = data.Rows;
        var d = data.Columns;
        var thresholds = new double[d][];
        var bins = new byte[d * n]; // (d, n): column-major, so one feature's bins are contiguous
        for (var j = 0; j < d; j++)
        {
            thresholds[j] = CutPoints(data, j);
            for (var i = 0; i < n; i++) bins[j * n + i] = (byte)BinOf(thresholds[j], data.X[i * d + j]);
        }

        var mean = n == 0 ? 0 : data.Y.Average();
        var baseScore = loss == LossKind.Logistic
            ? Math.Log(Math.Clamp(mean, 1e-6, 1 - 1e-6) / (1 - Math.Clamp(mean, 1e-6, 1 - 1e-6)))
            : mean;
        var f = new double[n];
        Array.Fill(f, baseScore);
        var g = new double[n];
        var h = new double[n];
        var rng = new Random(Seed);
        var trees = new List<Tree>(Rounds);
        var all = Enumerable.Range(0, n).ToArray();
        for (var round = 0; round < Rounds; round++)
        {
            for (var i = 0; i < n; i++)
            {
                if (loss == LossKind.Logistic)
                {
                    var p = Predictors.Sigmoid(f[i]);
                    g[i] = p - data.Y[i];
                    h[i] = Math.Max(p * (1 - p), 1e-6);
                }
                else
                {
                    g[i] = f[i] - data.Y[i];
                    h[i] = 1;
                }
            }
            var rows = Subsample >= 1 ? all : all.Where(_ => rng.NextDouble() < Subsample).ToArray();
            var builder = new TreeBuilder(this, bins, thresholds, g, h, n, d);
            var tree = builder.Build(rows);
            trees.Add(tree);
            // Update every row (sampled or not) with the new tree's output.
            for (var i = 0; i < n; i++) f[i] += tree.PredictBinned(bins, n, i);
        }
        return new BoostedTrees(Name, baseScore, trees, loss == LossKind.Logistic);
    }

    private static double[] CutPoints(Dataset data, int column)
    {
        var n = data.Rows;
        // Quantiles from at most 50k evenly strided rows: enough resolution for 64 bins.
        var stride = Math.Max(1, n / 50_000);
        var values = new List<double>(n / stride + 1);
        for (var i = 0; i < n; i += stride) values.Add(data.X[i * data.Columns + column]);
        values.Sort();
        var cuts = new List<double>(MaxBins);
        for (var b = 1; b < MaxBins; b++)
        {
            var v = values.Count == 0 ? 0 : values[Math.Min(values.Count - 1, b * values.Count / MaxBins)];
            if (cuts.Count == 0 || v > cuts[^1]) cuts.Add(v);
        }
        // The largest value needs no cut: everything above the last cut falls in the last bin.
        if (cuts.Count > 0 && values.Count > 0 && cuts[^1] >= values[^1]) cuts.RemoveAt(cuts.Count - 1);
        return [.. cuts];
    }

    /// <summary>Bin b holds values in (cut[b−1], cut[b]]; the last bin everything above the last cut.</summary>
    internal static int BinOf(double[] cuts, double value)
    {
        var lo = 0;
        var hi = cuts.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (cuts[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private sealed class TreeBuilder(GradientBoostedTreesLearner p, byte[] bins, double[][] cuts, double[] g, double[] h, int n, int d)
    {
        private readonly List<Node> _nodes = [];

        public Tree Build(int[] rows)
        {
            Grow(rows, 0);
            return new Tree([.. _nodes]);
        }

        private int Grow(int[] rows, int depth)
        {
            double gs = 0, hs = 0;
            foreach (var i in rows)
            {
                gs += g[i];
                hs += h[i];
            }
            var index = _nodes.Count;
            _nodes.Add(Node.Leaf(-gs / (hs + p.L2) * p.LearningRate));
            if (depth >= p.MaxDepth || rows.Length < 2 * p.MinRowsInLeaf) return index;

            var parentScore = gs * gs / (hs + p.L2);
            var bestGain = 1e-9;
            var bestFeature = -1;
            var bestBin = -1;
            Span<double> hg = stackalloc double[MaxBins];
            Span<double> hh = stackalloc double[MaxBins];
            Span<int> hc = stackalloc int[MaxBins];
            for (var j = 0; j < d; j++)
            {
                var nBins = cuts[j].Length + 1;
                if (nBins < 2) continue;
                hg.Clear();
                hh.Clear();
                hc.Clear();
                var column = bins.AsSpan(j * n, n);
                foreach (var i in rows)
                {
                    int b = column[i];
                    hg[b] += g[i];
                    hh[b] += h[i];
                    hc[b]++;
                }
                double gl = 0, hl = 0;
                var cl = 0;
                for (var b = 0; b < nBins - 1; b++)
                {
                    gl += hg[b];
                    hl += hh[b];
                    cl += hc[b];
                    var cr = rows.Length - cl;
                    if (cl < p.MinRowsInLeaf) continue;
                    if (cr < p.MinRowsInLeaf) break;
                    var gr = gs - gl;
                    var hr = hs - hl;
                    var gain = gl * gl / (hl + p.L2) + gr * gr / (hr + p.L2) - parentScore;
                    if (gain > bestGain)
                    {
                        bestGain = gain;
                        bestFeature = j;
                        bestBin = b;
                    }
                }
            }
            if (bestFeature < 0) return index;

            var split = bins.AsSpan(bestFeature * n, n);
            var left = new List<int>(rows.Length);
            var right = new List<int>(rows.Length);
            foreach (var i in rows) (split[i] <= bestBin ? left : right).Add(i);
            var l = Grow([.. left], depth + 1);
            var r = Grow([.. right], depth + 1);
            _nodes[index] = new Node(bestFeature, bestBin, cuts[bestFeature][bestBin], l, r, 0);
            return index;
        }
    }

    internal readonly record struct Node(int Feature, int Bin, double Threshold, int Left, int Right, double Value)
    {
        public static Node Leaf(double value) => new(-1, -1, 0, -1, -1, value);
    }

    internal sealed class Tree(Node[] nodes)
    {
        public double Predict(ReadOnlySpan<double> row)
        {
            var k = 0;
            while (nodes[k].Feature >= 0) k = row[nodes[k].Feature] <= nodes[k].Threshold ? nodes[k].Left : nodes[k].Right;
            return nodes[k].Value;
        }

        public double PredictBinned(byte[] bins, int n, int i)
        {
            var k = 0;
            while (nodes[k].Feature >= 0) k = bins[nodes[k].Feature * n + i] <= nodes[k].Bin ? nodes[k].Left : nodes[k].Right;
            return nodes[k].Value;
        }
    }

    private sealed class BoostedTrees(string learner, double baseScore, List<Tree> trees, bool logistic) : IPredictor
    {
        public string Learner => learner;

        public double Predict(ReadOnlySpan<double> row)
        {
            var t = baseScore;
            foreach (var tree in trees) t += tree.Predict(row);
            return logistic ? Predictors.Sigmoid(t) : t;
        }
    }
}
