using Persona.Numerics;

namespace Persona.Neural;

/// <summary>
/// A low-rank update scale·B·A added to the rows [<paramref name="Offset"/>, Offset + B.rows) of a dense weight
/// (LoRA): <paramref name="A"/> is (rank, in), <paramref name="B"/> is (width, rank).
/// </summary>
public sealed record LowRankUpdate(Tensor A, Tensor B, float Scale, int Offset);

public static partial class Ops
{
    /// <summary>
    /// y = x·Wᵀ + b + Σᵤ scaleᵤ·(x·Aᵤᵀ)·Bᵤᵀ written into output columns [offsetᵤ, offsetᵤ + widthᵤ): a dense layer with
    /// LoRA adapters, x (…, in), weight (out, in), bias (out) → (…, out). The adapters never form the (out, in) product
    /// B·A: each costs two thin GEMMs through the (rows, rank) projection x·Aᵀ, which is saved for the backward.
    /// A frozen weight (no gradient) costs no weight-gradient GEMM, so a frozen base with adapters back-propagates at
    /// about the price of the input gradient alone.
    /// </summary>
    public static Tensor LinearWithUpdates(Tensor x, Tensor weight, Tensor? bias, IReadOnlyList<LowRankUpdate> updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        var (rows, inF, outF) = LinearShape(x, weight, bias);
        var record = Tape.ShouldRecord(x, weight, bias);
        foreach (var u in updates)
        {
            ValidateUpdate(u, inF, outF);
            record |= u.A.RequiresGrad || u.B.RequiresGrad;
        }

        record &= Tape.Current is { IsRecording: true };
        var y = Tape.NewTensor([.. x._shape[..^1], outF], record);
        AffineForward(x, weight, bias, y, rows, inF, outF);
        var projections = new float[updates.Count][];
        for (var i = 0; i < updates.Count; i++)
        {
            var u = updates[i];
            var rank = u.A._shape[0];
            var width = u.B._shape[0];
            var projected = Tape.Scratch(rows * rank);
            projections[i] = projected;
            // projected (rows, rank) = x (rows, in) · Aᵀ ; y[:, offset..offset+width] += scale · projected · Bᵀ
            Gemm.Sgemm(false, true, rows, rank, inF, 1f, x.Data, inF, u.A.Data, inF, 0f, projected, rank);
            Gemm.Sgemm(false, true, rows, width, rank, u.Scale, projected, rank, u.B.Data, rank, 1f, y.Data[u.Offset..], outF);
        }

        if (record)
        {
            Tape.Record(() =>
            {
                _ = y.Grad;
                var dyBuffer = y._grad!;
                LinearBackward(x, weight, bias, dyBuffer, rows, inF, outF);
                for (var i = 0; i < updates.Count; i++)
                {
                    UpdateBackward(x, updates[i], projections[i], dyBuffer, rows, inF, outF);
                }
            });
        }

        return y;
    }

    // Given dy (rows, out) and the saved projection p = x·Aᵀ (rows, rank), with dyᵤ its column block (rows, width):
    // dB += scale·dyᵤᵀ·p, dp = scale·dyᵤ·B, dA += dpᵀ·x, dx += dp·A (after LinearBackward has written dx).
    private static void UpdateBackward(Tensor x, LowRankUpdate u, float[] projected, float[] dyBuffer, int rows, int inF, int outF)
    {
        var rank = u.A._shape[0];
        var width = u.B._shape[0];
        var dyBlock = dyBuffer.AsSpan(u.Offset, (rows * outF) - u.Offset);
        if (u.B.RequiresGrad)
        {
            Gemm.Sgemm(true, false, width, rank, rows, u.Scale, dyBlock, outF, projected, rank, 1f, u.B.DenseGrad(), rank);
        }

        if (!u.A.RequiresGrad && !x.RequiresGrad)
        {
            return;
        }

        var dProjected = Tape.Scratch(rows * rank);
        Gemm.Sgemm(false, false, rows, rank, width, u.Scale, dyBlock, outF, u.B.Data, rank, 0f, dProjected, rank);
        if (u.A.RequiresGrad)
        {
            Gemm.Sgemm(true, false, rank, inF, rows, 1f, dProjected, rank, x.Data, inF, 1f, u.A.DenseGrad(), inF);
        }

        if (x.RequiresGrad)
        {
            Gemm.Sgemm(false, false, rows, inF, rank, 1f, dProjected, rank, u.A.Data, inF, 1f, x.DenseGrad(), inF);
        }
    }

    private static void ValidateUpdate(LowRankUpdate u, int inF, int outF)
    {
        ArgumentNullException.ThrowIfNull(u);
        if (u.A.Rank != 2 || u.B.Rank != 2 || u.A._shape[1] != inF || u.B._shape[1] != u.A._shape[0] ||
            u.Offset < 0 || u.Offset + u.B._shape[0] > outF)
        {
            throw new ArgumentException(
                $"Low-rank update A {Tensor.Format(u.A._shape)}, B {Tensor.Format(u.B._shape)} at offset {u.Offset} " +
                $"does not fit a ({outF}, {inF}) weight.");
        }
    }
}
