using System.Buffers;
using System.Numerics.Tensors;
using Persona.Numerics;

namespace Persona.Neural;

public static partial class Ops
{
    /// <summary>
    /// Multi-head scaled dot-product attention, fused: q, k, v (batch, seq, heads·dh) → (batch, seq, heads·dh).
    /// Heads are read in place with a row stride (no split/merge copies) and (batch, head) pairs run in parallel.
    /// <paramref name="keyPadding"/> (batch·seq, true = padding) hides keys; <paramref name="causal"/> hides later
    /// positions. A query that sees no key gets a zero output. Saves the (batch, heads, seq, seq) probabilities.
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal = false, ReadOnlySpan<bool> keyPadding = default, float dropout = 0f, Rng? rng = null)
    {
        if (q.Rank != 3 || !q._shape.AsSpan().SequenceEqual(k._shape) || !q._shape.AsSpan().SequenceEqual(v._shape))
        {
            throw new ArgumentException($"Attention needs equal (batch, seq, dim) q, k, v; got {Tensor.Format(q._shape)}, {Tensor.Format(k._shape)}, {Tensor.Format(v._shape)}.");
        }

        var d = q._shape[2];
        return AttentionCore(q, 0, k, 0, v, 0, d, q._shape[0], q._shape[1], d, heads, causal, keyPadding, dropout, rng);
    }

    /// <summary>Attention over a packed projection qkv (batch, seq, 3·dim) laid out as [q | k | v] on the last axis.</summary>
    public static Tensor AttentionPacked(Tensor qkv, int heads, bool causal = false, ReadOnlySpan<bool> keyPadding = default, float dropout = 0f, Rng? rng = null)
    {
        if (qkv.Rank != 3 || qkv._shape[2] % 3 != 0)
        {
            throw new ArgumentException($"Packed attention needs (batch, seq, 3·dim); got {Tensor.Format(qkv._shape)}.");
        }

        var d = qkv._shape[2] / 3;
        return AttentionCore(qkv, 0, qkv, d, qkv, 2 * d, 3 * d, qkv._shape[0], qkv._shape[1], d, heads, causal, keyPadding, dropout, rng);
    }

    private static Tensor AttentionCore(
        Tensor qs, int qCol, Tensor ks, int kCol, Tensor vs, int vCol, int stride,
        int batch, int seq, int dim, int heads, bool causal, ReadOnlySpan<bool> keyPadding, float dropout, Rng? rng)
    {
        if (heads <= 0 || dim % heads != 0)
        {
            throw new ArgumentException($"Dimension {dim} does not split into {heads} heads.");
        }

        if (!keyPadding.IsEmpty && keyPadding.Length != batch * seq)
        {
            throw new ArgumentException($"Key padding mask has {keyPadding.Length} entries; expected batch·seq = {batch * seq}.");
        }

        if (dropout > 0f && rng is null)
        {
            throw new ArgumentException("Attention dropout needs a random generator.", nameof(rng));
        }

        var dh = dim / heads;
        var scale = 1f / MathF.Sqrt(dh);
        var pad = keyPadding.IsEmpty ? null : keyPadding.ToArray();
        var record = Tape.ShouldRecord(qs, ks, vs);
        var y = Tape.NewTensor([batch, seq, dim], record);
        var pairs = batch * heads;
        var ss = seq * seq;
        var probs = Tape.Scratch(pairs * ss);          // (batch, heads, seq, seq), after masking, before dropout
        float[]? keep = null;                           // (batch, heads, seq, seq) dropout multipliers
        if (dropout > 0f)
        {
            keep = Tape.Scratch(pairs * ss);
            rng!.FillDropoutMask(keep, pairs * ss, dropout);
        }

        var qArr = qs._data;
        var kArr = ks._data;
        var vArr = vs._data;
        var yArr = y._data;
        Par.For(pairs, 4L * ss * dh, (lo, hi) =>
        {
            var tmp = keep is null ? null : ArrayPool<float>.Shared.Rent(ss);
            for (var pair = lo; pair < hi; pair++)
            {
                var b = pair / heads;
                var h = pair % heads;
                var rowBase = b * seq * stride;
                var p = probs.AsSpan(pair * ss, ss);
                // scores (seq, seq) = scale · Q_h (seq, dh) · K_hᵀ
                Gemm.Sgemm(false, true, seq, seq, dh, scale, qArr.AsSpan(rowBase + qCol + (h * dh)), stride, kArr.AsSpan(rowBase + kCol + (h * dh)), stride, 0f, p, seq);
                var keyPad = pad is null ? default : pad.AsSpan(b * seq, seq);
                for (var i = 0; i < seq; i++)
                {
                    var row = p.Slice(i * seq, seq);
                    if (causal)
                    {
                        row[(i + 1)..].Fill(float.NegativeInfinity);
                    }

                    for (var j = 0; j < keyPad.Length; j++)
                    {
                        if (keyPad[j])
                        {
                            row[j] = float.NegativeInfinity;
                        }
                    }

                    SoftmaxRow(row, row);
                }

                var pUsed = p;
                if (tmp is not null)
                {
                    pUsed = tmp.AsSpan(0, ss);
                    TensorPrimitives.Multiply(p, keep.AsSpan(pair * ss, ss), pUsed);
                }

                // out_h (seq, dh) = P (seq, seq) · V_h (seq, dh), written into its column block of y
                Gemm.Sgemm(false, false, seq, dh, seq, 1f, pUsed, seq, vArr.AsSpan(rowBase + vCol + (h * dh)), stride, 0f, yArr.AsSpan((b * seq * dim) + (h * dh)), dim);
            }

            if (tmp is not null)
            {
                ArrayPool<float>.Shared.Return(tmp);
            }
        });

        if (!record)
        {
            return y;
        }

        Tape.Record(() =>
        {
            // Gradient buffers exist before the parallel loop; (batch, head) pairs write disjoint column blocks.
            // Every (batch, head) pair writes its own column blocks of dQ, dK and dV once. When those blocks tile each
            // gradient exactly (three distinct tensors, or the packed [q | k | v] one), a fresh buffer is overwritten
            // (beta 0) instead of cleared and added to; any other aliasing accumulates into cleared buffers.
            var freshQ = false;
            var freshK = false;
            var freshV = false;
            var distinct = !ReferenceEquals(qs, ks) && !ReferenceEquals(qs, vs) && !ReferenceEquals(ks, vs) && stride == dim;
            var packed = ReferenceEquals(qs, ks) && ReferenceEquals(ks, vs) && stride == 3 * dim && qCol == 0 && kCol == dim && vCol == 2 * dim;
            if (distinct)
            {
                FreshIfRequired(qs, ref freshQ);
                FreshIfRequired(ks, ref freshK);
                FreshIfRequired(vs, ref freshV);
            }
            else if (packed)
            {
                FreshIfRequired(qs, ref freshQ);
                freshK = freshV = freshQ;
            }

            var dq = qs.RequiresGrad ? qs.DenseGrad().Length : 0;
            var dk = ks.RequiresGrad ? ks.DenseGrad().Length : 0;
            var dv = vs.RequiresGrad ? vs.DenseGrad().Length : 0;
            var betaQ = freshQ ? 0f : 1f;
            var betaK = freshK ? 0f : 1f;
            var betaV = freshV ? 0f : 1f;
            var dqArr = qs._grad;
            var dkArr = ks._grad;
            var dvArr = vs._grad;
            var dyArr = y._grad!;
            Par.For(pairs, 8L * ss * dh, (lo, hi) =>
            {
                var dpBuf = ArrayPool<float>.Shared.Rent(ss);
                var pdBuf = keep is null ? null : ArrayPool<float>.Shared.Rent(ss);
                var dp = dpBuf.AsSpan(0, ss);
                for (var pair = lo; pair < hi; pair++)
                {
                    var b = pair / heads;
                    var h = pair % heads;
                    var rowBase = b * seq * stride;
                    var p = probs.AsSpan(pair * ss, ss);
                    var pUsed = p;
                    if (pdBuf is not null)
                    {
                        pUsed = pdBuf.AsSpan(0, ss);
                        TensorPrimitives.Multiply(p, keep.AsSpan(pair * ss, ss), pUsed);
                    }

                    var dOut = dyArr.AsSpan((b * seq * dim) + (h * dh));
                    var vh = vArr.AsSpan(rowBase + vCol + (h * dh));
                    // dP = dOut · Vᵀ ; dV += Pᵀ · dOut
                    Gemm.Sgemm(false, true, seq, seq, dh, 1f, dOut, dim, vh, stride, 0f, dp, seq);
                    if (dv > 0)
                    {
                        Gemm.Sgemm(true, false, seq, dh, seq, 1f, pUsed, seq, dOut, dim, betaV, dvArr.AsSpan(rowBase + vCol + (h * dh)), stride);
                    }

                    if (keep is not null)
                    {
                        TensorPrimitives.Multiply(dp, keep.AsSpan(pair * ss, ss), dp);
                    }

                    // dS = P ⊙ (dP − rowsum(dP ⊙ P)); masked entries have P = 0 and get no gradient
                    for (var i = 0; i < seq; i++)
                    {
                        var pr = p.Slice(i * seq, seq);
                        var dr = dp.Slice(i * seq, seq);
                        var dot = TensorPrimitives.Dot(pr, dr);
                        TensorPrimitives.Subtract(dr, dot, dr);
                        TensorPrimitives.Multiply(dr, pr, dr);
                    }

                    // dQ += scale · dS · K ; dK += scale · dSᵀ · Q
                    if (dq > 0)
                    {
                        Gemm.Sgemm(false, false, seq, dh, seq, scale, dp, seq, kArr.AsSpan(rowBase + kCol + (h * dh)), stride, betaQ, dqArr.AsSpan(rowBase + qCol + (h * dh)), stride);
                    }

                    if (dk > 0)
                    {
                        Gemm.Sgemm(true, false, seq, dh, seq, scale, dp, seq, qArr.AsSpan(rowBase + qCol + (h * dh)), stride, betaK, dkArr.AsSpan(rowBase + kCol + (h * dh)), stride);
                    }
                }

                ArrayPool<float>.Shared.Return(dpBuf);
                if (pdBuf is not null)
                {
                    ArrayPool<float>.Shared.Return(pdBuf);
                }
            });
        });
        return y;
    }

    private static void FreshIfRequired(Tensor t, ref bool fresh)
    {
        if (t.RequiresGrad)
        {
            t.GradForWrite(out fresh);
        }
    }
}
