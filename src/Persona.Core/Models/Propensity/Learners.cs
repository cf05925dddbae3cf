namespace Persona.Core.Models.Propensity;

/// <summary>Rows of features with one target each. <see cref="X"/> is row-major (rows, columns).</summary>
public sealed record Dataset(double[] X, double[] Y, int Rows, int Columns)
{
    public ReadOnlySpan<double> Row(int i) => X.AsSpan(i * Columns, Columns);

    /// <summary>The rows at <paramref name="indices"/>, in that order.</summary>
    public Dataset Take(IReadOnlyList<int> indices)
    {
        var x = new double[indices.Count * Columns];
        var y = new double[indices.Count];
        for (var r = 0; r < indices.Count; r++)
        {
            Row(indices[r]).CopyTo(x.AsSpan(r * Columns, Columns));
            y[r] = Y[indices[r]];
        }
        return new Dataset(x, y, indices.Count, Columns);
    }

    /// <summary>Same rows, another target.</summary>
    public Dataset WithTarget(double[] y) => y.Length == Rows ? this with { Y = y } : throw new ArgumentException("One target per row.", nameof(y));
}

/// <summary>What a learner optimises: log-loss on 0/1 targets (outputs probabilities) or squared error.</summary>
public enum LossKind
{
    Logistic,
    Squared,
}

/// <summary>A fitted model: a probability for <see cref="LossKind.Logistic"/>, a value for <see cref="LossKind.Squared"/>.</summary>
public interface IPredictor
{
    string Learner { get; }
    double Predict(ReadOnlySpan<double> row);
}

public interface ILearner
{
    string Name { get; }
    bool Supports(LossKind loss);
    IPredictor Fit(Dataset data, LossKind loss);
}

public static class Predictors
{
    /// <summary>Predictions for every row of <paramref name="data"/>.</summary>
    public static double[] PredictAll(this IPredictor model, Dataset data)
    {
        var p = new double[data.Rows];
        for (var i = 0; i < data.Rows; i++) p[i] = model.Predict(data.Row(i));
        return p;
    }

    internal static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));
}

/// <summary>
/// L2-regularised logistic regression fitted by Newton's method (IRLS) on standardised features; the
/// intercept is not penalised. d is small (tens), so each step solves the (d+1)² Hessian by Cholesky.
/// </summary>
public sealed class LogisticRegressionLearner(double l2 = 1e-3, int maxIterations = 30) : ILearner
{
    public string Name => "logistic";
    public bool Supports(LossKind loss) => loss == LossKind.Logistic;

    public IPredictor Fit(Dataset data, LossKind loss)
    {
        if (loss != LossKind.Logistic) throw new NotSupportedException("Logistic regression fits 0/1 targets.");
        var n = data.Rows;
        var d = data.Columns;
        var s = Standardizer.Fit(data.X, n, d);
        var z = s.Transform(data.X, n); // (n, d)
        var m = d + 1; // weights then intercept
        var w = new double[m];
        var mean = data.Y.Average();
        w[d] = Math.Log(Math.Clamp(mean, 1e-6, 1 - 1e-6) / (1 - Math.Clamp(mean, 1e-6, 1 - 1e-6)));
        var grad = new double[m];
        var hess = new double[m * m]; // (m, m)
        var previous = double.PositiveInfinity;
        for (var iteration = 0; iteration < maxIterations; iteration++)
        {
            Array.Clear(grad);
            Array.Clear(hess);
            var loss2 = 0.0;
            for (var i = 0; i < n; i++)
            {
                var row = z.AsSpan(i * d, d);
                var t = w[d];
                for (var j = 0; j < d; j++) t += w[j] * row[j];
                var p = Predictors.Sigmoid(t);
                var y = data.Y[i];
                loss2 += (t > 0 ? t + Math.Log(1 + Math.Exp(-t)) : Math.Log(1 + Math.Exp(t))) - y * t;
                var r = p - y;
                var h = Math.Max(p * (1 - p), 1e-10);
                for (var j = 0; j < d; j++)
                {
                    grad[j] += r * row[j];
                    var hj = h * row[j];
                    for (var k = 0; k <= j; k++) hess[j * m + k] += hj * row[k];
                    hess[d * m + j] += hj;
                }
                grad[d] += r;
                hess[d * m + d] += h;
            }
            for (var j = 0; j < m; j++)
                for (var k = j + 1; k < m; k++) hess[j * m + k] = hess[k * m + j];
            for (var j = 0; j < d; j++)
            {
                grad[j] += l2 * n * w[j];
                hess[j * m + j] += l2 * n;
                loss2 += 0.5 * l2 * n * w[j] * w[j];
            }
            var step = LinearAlgebra.SolveSpd(hess, grad, m);
            // Damped Newton: halve the step until the penalised loss drops (near-separable data overshoots).
            var trial = new double[m];
            var accepted = false;
            for (var t = 1.0; t > 1e-4; t /= 2)
            {
                for (var j = 0; j < m; j++) trial[j] = w[j] - t * step[j];
                if (Loss(z, data.Y, trial, n, d, l2) > loss2) continue;
                trial.CopyTo(w, 0);
                accepted = true;
                break;
            }
            if (!accepted || Math.Abs(previous - loss2) < 1e-8 * Math.Max(1, Math.Abs(loss2))) break;
            previous = loss2;
        }
        return new LinearModel(Name, s, w, logistic: true);
    }

    private static double Loss(double[] z, double[] y, double[] w, int n, int d, double l2)
    {
        var loss = 0.0;
        for (var i = 0; i < n; i++)
        {
            var t = w[d];
            for (var j = 0; j < d; j++) t += w[j] * z[i * d + j];
            // log(1 + e^t) − y·t, computed stably.
            loss += (t > 0 ? t + Math.Log(1 + Math.Exp(-t)) : Math.Log(1 + Math.Exp(t))) - y[i] * t;
        }
        for (var j = 0; j < d; j++) loss += 0.5 * l2 * n * w[j] * w[j];
        return loss;
    }
}

/// <summary>Ridge regression in closed form on standardised features (intercept unpenalised).</summary>
public sealed class RidgeRegressionLearner(double l2 = 1e-2) : ILearner
{
    public string Name => "ridge";
    public bool Supports(LossKind loss) => loss == LossKind.Squared;

    public IPredictor Fit(Dataset data, LossKind loss)
    {
        if (loss != LossKind.Squared) throw new NotSupportedException("Ridge regression fits squared error.");
        var n = data.Rows;
        var d = data.Columns;
        var s = Standardizer.Fit(data.X, n, d);
        var z = s.Transform(data.X, n); // (n, d), zero-mean columns, so the intercept is the target mean
        var yMean = data.Y.Average();
        var a = new double[d * d]; // (d, d) = ZᵀZ + λnI
        var b = new double[d];     // (d)    = Zᵀ(y − ȳ)
        for (var i = 0; i < n; i++)
        {
            var row = z.AsSpan(i * d, d);
            var y = data.Y[i] - yMean;
            for (var j = 0; j < d; j++)
            {
                b[j] += row[j] * y;
                for (var k = 0; k <= j; k++) a[j * d + k] += row[j] * row[k];
            }
        }
        for (var j = 0; j < d; j++)
        {
            for (var k = j + 1; k < d; k++) a[j * d + k] = a[k * d + j];
            a[j * d + j] += l2 * n;
        }
        var w = LinearAlgebra.SolveSpd(a, b, d);
        var weights = new double[d + 1];
        w.CopyTo(weights, 0);
        weights[d] = yMean;
        return new LinearModel(Name, s, weights, logistic: false);
    }
}

/// <summary>w·z + b over standardised inputs, through a sigmoid for the logistic learner.</summary>
public sealed class LinearModel(string learner, Standardizer standardizer, double[] weights, bool logistic) : IPredictor
{
    public string Learner => learner;
    /// <summary>Weights over standardised features, then the intercept.</summary>
    public IReadOnlyList<double> Weights => weights;

    public double Predict(ReadOnlySpan<double> row)
    {
        var d = standardizer.Mean.Length;
        var t = weights[d];
        for (var j = 0; j < d; j++) t += weights[j] * (row[j] - standardizer.Mean[j]) / standardizer.Scale[j];
        return logistic ? Predictors.Sigmoid(t) : t;
    }
}
