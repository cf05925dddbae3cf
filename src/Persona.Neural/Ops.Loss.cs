using System.Buffers;
using System.Numerics.Tensors;
using Persona.Numerics;

namespace Persona.Neural;

public static partial class Ops
{
    /// <summary>
    /// Mean cross-entropy of logits (…, V) against class ids (one per row); rows whose target equals
    /// <paramref name="ignoreIndex"/> count for nothing. Fused: saves each row's log-sum-exp and writes
    /// (softmax − one-hot)·dL/N straight into the logits' gradient.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, ReadOnlySpan<int> targets, int ignoreIndex = -1)
    {
        var v = logits._shape[^1];
        var rows = logits.Length / Math.Max(1, v);
        if (targets.Length != rows)
        {
            throw new ArgumentException($"{targets.Length} targets for {rows} rows of logits.");
        }

        var t = targets.ToArray();
        var valid = CountValid(t, v, ignoreIndex);
        var record = Tape.ShouldRecord(logits);
        var lse = Tape.Scratch(rows);
        var rowLoss = new double[rows];
        Par.For(rows, v * 4, (lo, hi) =>
        {
            var scratch = ArrayPool<float>.Shared.Rent(v);
            for (var r = lo; r < hi; r++)
            {
                if (t[r] == ignoreIndex)
                {
                    continue;
                }

                var row = logits.Data.Slice(r * v, v);
                lse[r] = LogSumExp(row, scratch.AsSpan(0, v));
                rowLoss[r] = lse[r] - row[t[r]];
            }

            ArrayPool<float>.Shared.Return(scratch);
        });
        var y = Tape.NewTensor([], record);
        y.Data[0] = valid == 0 ? 0f : (float)(rowLoss.Sum() / valid);
        if (record && valid > 0)
        {
            Tape.Record(() =>
            {
                var g = y.Grad[0] / valid;
                logits.DenseGrad();
                Par.For(rows, v * 4, (lo, hi) =>
                {
                    var scratch = ArrayPool<float>.Shared.Rent(v);
                    var p = scratch.AsSpan(0, v);
                    for (var r = lo; r < hi; r++)
                    {
                        if (t[r] == ignoreIndex)
                        {
                            continue;
                        }

                        var dx = logits.Grad.Slice(r * v, v);
                        TensorPrimitives.Subtract(logits.Data.Slice(r * v, v), lse[r], p);
                        TensorPrimitives.Exp(p, p);
                        TensorPrimitives.MultiplyAdd(p, g, dx, dx);
                        dx[t[r]] -= g;
                    }

                    ArrayPool<float>.Shared.Return(scratch);
                });
            });
        }

        return y;
    }

    /// <summary>
    /// Mean cross-entropy of the full-vocabulary logits hidden·Wᵀ (+ bias) without materialising them: hidden (…, d),
    /// weight (V, d) (for example tied item embeddings), one target per row. Rows are processed in chunks of about
    /// 4 M logits; while recording, each chunk's gradients (softmax − one-hot) are pushed through the two GEMMs at
    /// once, so the memory is O(chunk·V) instead of O(rows·V) and the logits never leave the cache twice.
    /// <paramref name="chunkLogits"/> bounds the logits held at once.
    /// </summary>
    public static Tensor LinearCrossEntropy(Tensor hidden, Tensor weight, ReadOnlySpan<int> targets, Tensor? bias = null, int ignoreIndex = -1, int chunkLogits = 4 << 20)
    {
        var d = hidden._shape[^1];
        var v = weight._shape[0];
        var rows = hidden.Length / Math.Max(1, d);
        if (weight.Rank != 2 || weight._shape[1] != d || targets.Length != rows || (bias is not null && bias.Length != v))
        {
            throw new ArgumentException($"LinearCrossEntropy of {Tensor.Format(hidden._shape)} with weight {Tensor.Format(weight._shape)} and {targets.Length} targets.");
        }

        var t = targets.ToArray();
        var valid = CountValid(t, v, ignoreIndex);
        var record = Tape.ShouldRecord(hidden, weight, bias) && valid > 0;
        float[]? dh = null, dw = null, db = null;
        if (record)
        {
            dh = hidden.RequiresGrad ? Tape.Scratch(rows * d) : null;
            dw = weight.RequiresGrad ? Tape.Scratch(v * d) : null;
            db = bias?.RequiresGrad == true ? Tape.Scratch(v) : null;
            dw?.AsSpan(0, v * d).Clear();
            db?.AsSpan(0, v).Clear();
        }

        var chunkRows = Math.Clamp(chunkLogits / Math.Max(1, v), 1, Math.Max(1, rows));
        var logitsBuffer = ArrayPool<float>.Shared.Rent(chunkRows * v);
        var rowLoss = new double[rows];
        try
        {
            for (var r0 = 0; r0 < rows; r0 += chunkRows)
            {
                var n = Math.Min(chunkRows, rows - r0);
                var logits = logitsBuffer.AsSpan(0, n * v);
                if (bias is not null)
                {
                    for (var r = 0; r < n; r++)
                    {
                        bias.Data.CopyTo(logits.Slice(r * v, v));
                    }
                }

                Gemm.Sgemm(false, true, n, v, d, 1f, hidden.Data.Slice(r0 * d, n * d), d, weight.Data, d, bias is null ? 0f : 1f, logits, v);
                var start = r0;
                Par.For(n, v * 6, (lo, hi) =>
                {
                    for (var r = lo; r < hi; r++)
                    {
                        var row = logitsBuffer.AsSpan(r * v, v);
                        var target = t[start + r];
                        if (target == ignoreIndex)
                        {
                            row.Clear();
                            continue;
                        }

                        var x = row[target];
                        var lse = LogSumExp(row, row); // row now holds e^(x − max)
                        rowLoss[start + r] = lse - x;
                        if (record)
                        {
                            TensorPrimitives.Multiply(row, 1f / TensorPrimitives.Sum(row), row); // softmax
                            row[target] -= 1f;
                        }
                    }
                });
                if (!record)
                {
                    continue;
                }

                if (dh is not null)
                {
                    Gemm.Sgemm(false, false, n, d, v, 1f, logits, v, weight.Data, d, 0f, dh.AsSpan(r0 * d, n * d), d);
                }

                if (dw is not null)
                {
                    Gemm.Sgemm(true, false, v, d, n, 1f, logits, v, hidden.Data.Slice(r0 * d, n * d), d, 1f, dw.AsSpan(0, v * d), d);
                }

                if (db is not null)
                {
                    for (var r = 0; r < n; r++)
                    {
                        TensorPrimitives.Add(db.AsSpan(0, v), logits.Slice(r * v, v), db.AsSpan(0, v));
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(logitsBuffer);
        }

        var y = Tape.NewTensor([], record);
        y.Data[0] = valid == 0 ? 0f : (float)(rowLoss.Sum() / valid);
        if (record)
        {
            Tape.Record(() =>
            {
                var g = y.Grad[0] / valid;
                if (dh is not null)
                {
                    TensorPrimitives.MultiplyAdd(dh.AsSpan(0, rows * d), g, hidden.DenseGrad(), hidden.DenseGrad());
                }

                if (dw is not null)
                {
                    TensorPrimitives.MultiplyAdd(dw.AsSpan(0, v * d), g, weight.DenseGrad(), weight.DenseGrad());
                }

                if (db is not null)
                {
                    TensorPrimitives.MultiplyAdd(db.AsSpan(0, v), g, bias!.DenseGrad(), bias.DenseGrad());
                }
            });
        }

        return y;
    }

    /// <summary>
    /// Sampled softmax: for each row of hidden (…, d), cross-entropy of its positive item against the shared
    /// <paramref name="negatives"/>, with logits h·w_pos and h·w_negᵀ from the item table (V, d). A negative equal to the
    /// row's positive is masked out (accidental hit); rows whose positive is <paramref name="ignoreIndex"/> count for
    /// nothing. Fused: one GEMM writes the (rows, 1 + K) logits, the softmax gradient is formed in place, and the
    /// backward is two GEMMs plus row updates; the table receives sparse gradient rows only.
    /// </summary>
    public static Tensor SampledSoftmaxCrossEntropy(Tensor hidden, Tensor table, ReadOnlySpan<int> positives, ReadOnlySpan<int> negatives, int ignoreIndex = -1)
    {
        var d = hidden._shape[^1];
        var rows = hidden.Length / Math.Max(1, d);
        var items = table._shape[0];
        if (table.Rank != 2 || table._shape[1] != d || positives.Length != rows)
        {
            throw new ArgumentException($"Sampled softmax of {Tensor.Format(hidden._shape)} with table {Tensor.Format(table._shape)} and {positives.Length} positives.");
        }

        var k = negatives.Length;
        var width = k + 1;
        var pos = positives.ToArray();
        var neg = negatives.ToArray();
        foreach (var id in neg)
        {
            if ((uint)id >= (uint)items)
            {
                throw new ArgumentOutOfRangeException(nameof(negatives), $"Negative {id} outside a table of {items} rows.");
            }
        }

        var valid = 0;
        foreach (var id in pos)
        {
            if (id == ignoreIndex)
            {
                continue;
            }

            valid += (uint)id < (uint)items ? 1 : throw new ArgumentOutOfRangeException(nameof(positives), $"Positive {id} outside a table of {items} rows.");
        }

        var record = Tape.ShouldRecord(hidden, table) && valid > 0;
        var negRows = Tape.Scratch(k * d);                 // (K, d) gathered negative rows
        var logits = Tape.Scratch(rows * width);           // (rows, 1 + K); becomes softmax − one-hot when recording
        var w = table.Data;
        for (var j = 0; j < k; j++)
        {
            w.Slice(neg[j] * d, d).CopyTo(negRows.AsSpan(j * d, d));
        }

        // Columns 1..K: h · Negᵀ, written straight into the strided logits.
        Gemm.Sgemm(false, true, rows, k, d, 1f, hidden.Data, d, negRows.AsSpan(0, k * d), d, 0f, logits.AsSpan(1), width);
        var hitColumns = new Dictionary<int, List<int>>();
        for (var j = 0; j < k; j++)
        {
            if (!hitColumns.TryGetValue(neg[j], out var cols))
            {
                hitColumns[neg[j]] = cols = [];
            }

            cols.Add(j + 1);
        }

        var rowLoss = new double[rows];
        Par.For(rows, width * 6, (lo, hi) =>
        {
            var h = hidden.Data;
            var tw = table.Data;
            for (var r = lo; r < hi; r++)
            {
                var row = logits.AsSpan(r * width, width);
                if (pos[r] == ignoreIndex)
                {
                    row.Clear();
                    continue;
                }

                row[0] = System.Numerics.Tensors.TensorPrimitives.Dot(h.Slice(r * d, d), tw.Slice(pos[r] * d, d));
                if (hitColumns.TryGetValue(pos[r], out var hits))
                {
                    foreach (var c in hits)
                    {
                        row[c] = float.NegativeInfinity;
                    }
                }

                var x0 = row[0];
                var lse = LogSumExp(row, row); // row now holds e^(x − max)
                rowLoss[r] = lse - x0;
                if (record)
                {
                    TensorPrimitives.Multiply(row, 1f / TensorPrimitives.Sum(row), row);
                    row[0] -= 1f;
                }
            }
        });

        var y = Tape.NewTensor([], record);
        y.Data[0] = valid == 0 ? 0f : (float)(rowLoss.Sum() / valid);
        if (record)
        {
            Tape.Record(() =>
            {
                var g = y.GradView[0] / valid;
                var grad = logits.AsSpan(0, rows * width);
                if (hidden.RequiresGrad)
                {
                    var dh = hidden.DenseGrad();
                    // dH += g · G[:, 1:] · Neg  and  dH_r += g · G[r, 0] · w_pos(r)
                    Gemm.Sgemm(false, false, rows, d, k, g, grad[1..], width, negRows.AsSpan(0, k * d), d, 1f, dh, d);
                    for (var r = 0; r < rows; r++)
                    {
                        if (pos[r] != ignoreIndex)
                        {
                            TensorPrimitives.MultiplyAdd(table.Data.Slice(pos[r] * d, d), g * grad[r * width], dh.Slice(r * d, d), dh.Slice(r * d, d));
                        }
                    }
                }

                if (table.RequiresGrad)
                {
                    // dNeg (K, d) = g · G[:, 1:]ᵀ · H, then scattered into the sampled rows.
                    var dneg = Tape.Scratch(k * d).AsSpan(0, k * d);
                    Gemm.Sgemm(true, false, k, d, rows, g, grad[1..], width, hidden.Data, d, 0f, dneg, d);
                    for (var j = 0; j < k; j++)
                    {
                        var row = table.SparseGradRow(neg[j]);
                        TensorPrimitives.Add(row, dneg.Slice(j * d, d), row);
                    }

                    for (var r = 0; r < rows; r++)
                    {
                        if (pos[r] != ignoreIndex)
                        {
                            var row = table.SparseGradRow(pos[r]);
                            TensorPrimitives.MultiplyAdd(hidden.Data.Slice(r * d, d), g * grad[r * width], row, row);
                        }
                    }
                }
            });
        }

        return y;
    }

    /// <summary>
    /// Mean binary cross-entropy with logits: max(x, 0) − x·y + log(1 + e^(−|x|)), optionally weighted per element
    /// (the mean still divides by the element count).
    /// </summary>
    public static Tensor BceWithLogits(Tensor logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights = default)
    {
        var n = logits.Length;
        if (targets.Length != n || (!weights.IsEmpty && weights.Length != n))
        {
            throw new ArgumentException($"{targets.Length} targets / {weights.Length} weights for {n} logits.");
        }

        var yT = targets.ToArray();
        var w = weights.IsEmpty ? null : weights.ToArray();
        var record = Tape.ShouldRecord(logits);
        double total = 0;
        var x = logits.Data;
        for (var i = 0; i < n; i++)
        {
            var l = MathF.Max(x[i], 0f) - (x[i] * yT[i]) + MathF.Log(1f + MathF.Exp(-MathF.Abs(x[i])));
            total += (w?[i] ?? 1f) * l;
        }

        var y = Tape.NewTensor([], record);
        y.Data[0] = n == 0 ? 0f : (float)(total / n);
        if (record && n > 0)
        {
            Tape.Record(() =>
            {
                var g = y.Grad[0] / n;
                var dx = logits.DenseGrad();
                var xd = logits.Data;
                for (var i = 0; i < n; i++)
                {
                    var s = 1f / (1f + MathF.Exp(-xd[i]));
                    dx[i] += g * (w?[i] ?? 1f) * (s - yT[i]);
                }
            });
        }

        return y;
    }

    private static int CountValid(int[] targets, int classes, int ignoreIndex)
    {
        var valid = 0;
        foreach (var target in targets)
        {
            if (target == ignoreIndex)
            {
                continue;
            }

            if ((uint)target >= (uint)classes)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), $"Target {target} outside {classes} classes.");
            }

            valid++;
        }

        return valid;
    }
}
