namespace Persona.Core.Models.Propensity;

/// <summary>One reliability bin: predictions in [<see cref="Low"/>, <see cref="High"/>), their mean, and how often the event happened.</summary>
public sealed record CalibrationBin(double Low, double High, int Count, double MeanPredicted, double ObservedRate);

/// <summary>Quality measures for scores against outcomes.</summary>
public static class Metrics
{
    /// <summary>
    /// Area under the ROC curve via the rank-sum (Mann–Whitney) statistic, ties given their mean rank.
    /// NaN when only one class is present.
    /// </summary>
    public static double Auc(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels)
    {
        var n = scores.Length;
        var order = new int[n];
        for (var i = 0; i < n; i++) order[i] = i;
        var s = scores.ToArray();
        Array.Sort(s, order);
        double positives = 0, rankSum = 0;
        for (var i = 0; i < n;)
        {
            var j = i;
            while (j + 1 < n && s[j + 1] == s[i]) j++;
            var meanRank = (i + j) / 2.0 + 1;
            for (var k = i; k <= j; k++)
            {
                if (labels[order[k]] <= 0.5) continue;
                positives++;
                rankSum += meanRank;
            }
            i = j + 1;
        }
        var negatives = n - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }

    /// <summary>Mean negative log-likelihood of 0/1 labels, probabilities clipped to [1e-15, 1 − 1e-15].</summary>
    public static double LogLoss(ReadOnlySpan<double> probabilities, ReadOnlySpan<double> labels)
    {
        var sum = 0.0;
        for (var i = 0; i < probabilities.Length; i++)
        {
            var p = Math.Clamp(probabilities[i], 1e-15, 1 - 1e-15);
            sum -= labels[i] > 0.5 ? Math.Log(p) : Math.Log(1 - p);
        }
        return probabilities.Length == 0 ? double.NaN : sum / probabilities.Length;
    }

    /// <summary>Equal-width reliability bins over [0, 1]; empty bins are left out.</summary>
    public static IReadOnlyList<CalibrationBin> Calibration(ReadOnlySpan<double> probabilities, ReadOnlySpan<double> labels, int bins = 10)
    {
        var count = new int[bins];
        var sumP = new double[bins];
        var sumY = new double[bins];
        for (var i = 0; i < probabilities.Length; i++)
        {
            var b = Math.Clamp((int)(probabilities[i] * bins), 0, bins - 1);
            count[b]++;
            sumP[b] += probabilities[i];
            sumY[b] += labels[i];
        }
        var result = new List<CalibrationBin>();
        for (var b = 0; b < bins; b++)
            if (count[b] > 0)
                result.Add(new CalibrationBin((double)b / bins, (double)(b + 1) / bins, count[b], sumP[b] / count[b], sumY[b] / count[b]));
        return result;
    }

    public static double Rmse(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        var sum = 0.0;
        for (var i = 0; i < predicted.Length; i++) sum += (predicted[i] - actual[i]) * (predicted[i] - actual[i]);
        return predicted.Length == 0 ? double.NaN : Math.Sqrt(sum / predicted.Length);
    }

    /// <summary>Mean absolute percentage error over the pairs whose actual value is not zero; NaN when there are none.</summary>
    public static double Mape(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        var sum = 0.0;
        var n = 0;
        for (var i = 0; i < predicted.Length; i++)
        {
            if (actual[i] == 0) continue;
            sum += Math.Abs((predicted[i] - actual[i]) / actual[i]);
            n++;
        }
        return n == 0 ? double.NaN : sum / n;
    }

    /// <summary>
    /// Permutation importance: how much the metric worsens when one column is shuffled (seeded), for each
    /// column. <paramref name="metric"/> is "higher is better" (pass −RMSE for regression).
    /// </summary>
    public static double[] PermutationImportance(IPredictor model, Dataset data, Func<double[], double[], double> metric, int seed)
    {
        var baseline = metric(model.PredictAll(data), data.Y);
        var result = new double[data.Columns];
        var rng = new Random(seed);
        var x = (double[])data.X.Clone();
        var shuffled = data with { X = x };
        var perm = new int[data.Rows];
        for (var j = 0; j < data.Columns; j++)
        {
            for (var i = 0; i < perm.Length; i++) perm[i] = i;
            rng.Shuffle(perm);
            for (var i = 0; i < data.Rows; i++) x[i * data.Columns + j] = data.X[perm[i] * data.Columns + j];
            result[j] = baseline - metric(model.PredictAll(shuffled), data.Y);
            for (var i = 0; i < data.Rows; i++) x[i * data.Columns + j] = data.X[i * data.Columns + j];
        }
        return result;
    }
}
