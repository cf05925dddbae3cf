using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Persona.Numerics;

/// <summary>
/// Managed single-precision GEMM: Goto-style cache blocking (B panels of Kc×Nc in L3, A blocks of Mc×Kc in L2),
/// both operands packed into register-tile order, and an Mr×Nr micro-kernel that keeps the C tile in vector
/// registers (Vector512 → 256 → 128 → scalar). Transposes are absorbed by the packing, so one kernel serves all four cases.
/// Large shapes run in parallel over row blocks (or column strips, or K slices for tall-K shapes); each C element
/// is always summed in the same order, so results do not depend on thread scheduling.
/// </summary>
public static unsafe class ManagedGemm
{
    internal const int Mr = 6;
    private const int Kc = 256;
    private const int Mc = Mr * 16; // 96×256×4 B = 96 KiB of packed A per thread: stays in L2
    private const int Nc = 2048;    // 256×2048×4 B = 2 MiB of packed B: stays in L3, shared by all threads of a call
    private const long ParallelThreshold = 1L << 21; // below ~4 MFLOP the fork/join costs more than it saves

    [ThreadStatic] private static float[]? _packA;
    [ThreadStatic] private static float[]? _packB;

    /// <summary>The micro-kernel <see cref="ManagedKernel.Auto"/> resolves to on this machine.</summary>
    public static ManagedKernel DefaultKernel { get; } =
        Vector512.IsHardwareAccelerated ? ManagedKernel.Vector512
        : Vector256.IsHardwareAccelerated ? ManagedKernel.Vector256
        : Vector128.IsHardwareAccelerated ? ManagedKernel.Vector128
        : ManagedKernel.Scalar;

    /// <summary>C = alpha·op(A)·op(B) + beta·C (row-major) with a chosen micro-kernel; used by tests and benchmarks.</summary>
    public static void Sgemm(
        ManagedKernel kernel, bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Gemm.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            Run(kernel, transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, allowParallel: true);
        }
    }

    internal static int NrOf(ManagedKernel kernel) => kernel switch
    {
        ManagedKernel.Vector512 => 32,
        ManagedKernel.Vector256 => 16,
        _ => 8,
    };

    internal static void Run(
        ManagedKernel kernel, bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, bool allowParallel)
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0 || alpha == 0f)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }

        if (kernel == ManagedKernel.Auto)
        {
            kernel = DefaultKernel;
        }

        var threads = allowParallel ? Environment.ProcessorCount : 1;
        var parallel = threads > 1 && (long)m * n * k >= ParallelThreshold;
        var tilesM = (m + Mc - 1) / Mc;
        var strips = (Math.Min(n, Nc) + NrOf(kernel) - 1) / NrOf(kernel);
        if (parallel && tilesM * strips < 2 * threads && k >= 2 * Kc)
        {
            // Small C with a long K (weight gradients: dW = dYᵀ·X over many rows): split K, sum the slices in order.
            SplitK(kernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
            return;
        }

        Blocked(kernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, parallel ? threads : 1);
    }

    private static void SplitK(
        ManagedKernel kernel, bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int threads)
    {
        var parts = Math.Min(threads, k / Kc);
        var partials = new float[parts - 1][];
        nint pa = (nint)a, pb = (nint)b, pcc = (nint)c;
        Parallel.For(0, parts, part =>
        {
            var k0 = (int)((long)k * part / parts);
            var k1 = (int)((long)k * (part + 1) / parts);
            var sa = (float*)pa + (transA ? (long)k0 * lda : k0);
            var sb = (float*)pb + (transB ? k0 : (long)k0 * ldb);
            if (part == 0)
            {
                Blocked(kernel, transA, transB, m, n, k1 - k0, alpha, sa, lda, sb, ldb, beta, (float*)pcc, ldc, 1);
                return;
            }

            var tmp = GC.AllocateUninitializedArray<float>(m * n, pinned: true);
            partials[part - 1] = tmp;
            fixed (float* pt = tmp)
            {
                Blocked(kernel, transA, transB, m, n, k1 - k0, alpha, sa, lda, sb, ldb, 0f, pt, n, 1);
            }
        });

        foreach (var tmp in partials)
        {
            for (var i = 0; i < m; i++)
            {
                var row = new Span<float>(c + (long)i * ldc, n);
                System.Numerics.Tensors.TensorPrimitives.Add(row, tmp.AsSpan(i * n, n), row);
            }
        }
    }

    private static void Blocked(
        ManagedKernel kernel, bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int threads)
    {
        var nr = NrOf(kernel);
        var tilesM = (m + Mc - 1) / Mc;
        // Packing pays when a block is reused: A by many column strips, B by many row blocks. Otherwise the kernel
        // reads the operands where they lie (full tiles only; edge tiles are always packed with zero padding).
        var directA = (Math.Min(n, Nc) + nr - 1) / nr <= 8;
        var directB = !transB && tilesM <= 2;
        var ncMax = Math.Min(Nc, (n + nr - 1) / nr * nr);
        var packB = directB ? null : Pinned(ref _packB, Math.Min(Kc, k) * ncMax);
        var plan = new Plan(kernel, transA, transB, directA, directB, a, lda, b, ldb, c, ldc, alpha);
        for (var jc = 0; jc < n; jc += Nc)
        {
            var nc = Math.Min(Nc, n - jc);
            var strips = (nc + nr - 1) / nr;
            for (var pc = 0; pc < k; pc += Kc)
            {
                var kc = Math.Min(Kc, k - pc);
                var betaEff = pc == 0 ? beta : 1f;
                if (!directB && threads > 1 && (long)kc * nc >= 1L << 16)
                {
                    // Large panels are packed by all threads (by strips); on one thread the packing idled the others.
                    nint pb0 = (nint)b, pk = (nint)packB;
                    int jcp = jc, pcp = pc, kcp = kc, ncp = nc;
                    Parallel.For(0, threads, t =>
                    {
                        var s0 = strips * t / threads;
                        var s1 = strips * (t + 1) / threads;
                        var j0 = s0 * nr;
                        var cols = Math.Min(ncp, s1 * nr) - j0;
                        if (cols > 0)
                        {
                            PackB(transB, (float*)pb0, ldb, pcp, kcp, jcp + j0, cols, nr, (float*)pk + ((long)j0 * kcp));
                        }
                    });
                }
                else if (!directB)
                {
                    PackB(transB, b, ldb, pc, kc, jc, nc, nr, packB);
                }

                if (threads == 1)
                {
                    for (var ic = 0; ic < m; ic += Mc)
                    {
                        Block(plan, ic, Math.Min(Mc, m - ic), pc, kc, jc, nc, packB, 0, strips, betaEff);
                    }

                    continue;
                }

                // Enough tasks to balance: row blocks first, column strips when rows are few.
                var chunksN = tilesM >= 4 * threads ? 1 : Math.Min(strips, (4 * threads + tilesM - 1) / tilesM);
                nint pbp = (nint)packB;
                int jcc = jc, pcc = pc;
                Parallel.For(0, tilesM * chunksN, t =>
                {
                    var ic = t / chunksN * Mc;
                    var tn = t % chunksN;
                    Block(plan, ic, Math.Min(Mc, m - ic), pcc, kc, jcc, nc, (float*)pbp, strips * tn / chunksN, strips * (tn + 1) / chunksN, betaEff);
                });
            }
        }
    }

    private static void Block(in Plan plan, int ic, int mc, int pc, int kc, int jc, int nc, float* packB, int stripLo, int stripHi, float beta)
    {
        if (stripLo >= stripHi)
        {
            return;
        }

        var kernel = plan.Kernel;
        var nr = NrOf(kernel);
        var packA = Pinned(ref _packA, (Mc * Kc) + (Kc * 32) + (Mr * 32));
        var edgeB = packA + (Mc * Kc); // one zero-padded B strip for direct-B edges
        var edgeC = edgeB + (Kc * 32); // one Mr×Nr tile for partial C tiles
        if (!plan.DirectA)
        {
            PackA(plan.TransA, plan.A, plan.Lda, ic, mc, pc, kc, packA);
        }
        else if (mc % Mr != 0)
        {
            // Only the last, partial strip is packed; its rows sit where a full packing would put them.
            var r0 = mc / Mr * Mr;
            PackA(plan.TransA, plan.A, plan.Lda, ic + r0, mc - r0, pc, kc, packA + ((long)r0 * kc));
        }

        for (var s = stripLo; s < stripHi; s++)
        {
            var j0 = s * nr;
            var nrAct = Math.Min(nr, nc - j0);
            float* bp;
            nint bStep = nr;
            if (!plan.DirectB)
            {
                bp = packB + ((long)j0 * kc);
            }
            else if (nrAct == nr)
            {
                bp = plan.B + ((long)pc * plan.Ldb) + jc + j0;
                bStep = plan.Ldb;
            }
            else
            {
                PackB(false, plan.B, plan.Ldb, pc, kc, jc + j0, nrAct, nr, edgeB);
                bp = edgeB;
            }

            for (var r0 = 0; r0 < mc; r0 += Mr)
            {
                var mrAct = Math.Min(Mr, mc - r0);
                float* ap;
                nint aRow = 1, aStep = Mr;
                if (plan.DirectA && mrAct == Mr)
                {
                    var i = ic + r0;
                    ap = plan.TransA ? plan.A + ((long)pc * plan.Lda) + i : plan.A + ((long)i * plan.Lda) + pc;
                    aRow = plan.TransA ? 1 : plan.Lda;
                    aStep = plan.TransA ? plan.Lda : 1;
                }
                else
                {
                    ap = packA + ((long)r0 * kc);
                }

                var cp = plan.C + ((long)(ic + r0) * plan.Ldc) + jc + j0;
                switch (kernel)
                {
                    case ManagedKernel.Vector512:
                        GemmMicroKernels.Kernel512(kc, ap, aRow, aStep, bp, bStep, cp, plan.Ldc, plan.Alpha, beta, mrAct, nrAct, edgeC);
                        break;
                    case ManagedKernel.Vector256:
                        GemmMicroKernels.Kernel256(kc, ap, aRow, aStep, bp, bStep, cp, plan.Ldc, plan.Alpha, beta, mrAct, nrAct, edgeC);
                        break;
                    case ManagedKernel.Vector128:
                        GemmMicroKernels.Kernel128(kc, ap, aRow, aStep, bp, bStep, cp, plan.Ldc, plan.Alpha, beta, mrAct, nrAct, edgeC);
                        break;
                    default:
                        GemmMicroKernels.KernelScalar(kc, ap, aRow, aStep, bp, bStep, cp, plan.Ldc, plan.Alpha, beta, mrAct, nrAct, edgeC);
                        break;
                }
            }
        }
    }

    private readonly struct Plan(
        ManagedKernel kernel, bool transA, bool transB, bool directA, bool directB, float* a, int lda, float* b, int ldb, float* c, int ldc, float alpha)
    {
        public ManagedKernel Kernel { get; } = kernel;

        public bool TransA { get; } = transA;

        public bool TransB { get; } = transB;

        public bool DirectA { get; } = directA;

        public bool DirectB { get; } = directB;

        public float* A { get; } = a;

        public int Lda { get; } = lda;

        public float* B { get; } = b;

        public int Ldb { get; } = ldb;

        public float* C { get; } = c;

        public int Ldc { get; } = ldc;

        public float Alpha { get; } = alpha;
    }

    // Packed A: strips of Mr rows; within a strip, for each p the Mr values A(i0..i0+Mr, p); rows past m are zero.
    private static void PackA(bool transA, float* a, int lda, int ic, int mc, int pc, int kc, float* dst)
    {
        for (var r0 = 0; r0 < mc; r0 += Mr)
        {
            var rows = Math.Min(Mr, mc - r0);
            var d = dst + (long)r0 * kc;
            if (!transA)
            {
                for (var r = 0; r < Mr; r++)
                {
                    if (r < rows)
                    {
                        var src = a + (long)(ic + r0 + r) * lda + pc;
                        for (var p = 0; p < kc; p++)
                        {
                            d[p * Mr + r] = src[p];
                        }
                    }
                    else
                    {
                        for (var p = 0; p < kc; p++)
                        {
                            d[p * Mr + r] = 0f;
                        }
                    }
                }
            }
            else
            {
                for (var p = 0; p < kc; p++)
                {
                    var src = a + (long)(pc + p) * lda + ic + r0;
                    var dp = d + p * Mr;
                    for (var r = 0; r < rows; r++)
                    {
                        dp[r] = src[r];
                    }

                    for (var r = rows; r < Mr; r++)
                    {
                        dp[r] = 0f;
                    }
                }
            }
        }
    }

    // Packed B: strips of nr columns; within a strip, for each p the nr values B(p, j0..j0+nr); columns past n are zero.
    private static void PackB(bool transB, float* b, int ldb, int pc, int kc, int jc, int nc, int nr, float* dst)
    {
        for (var j0 = 0; j0 < nc; j0 += nr)
        {
            var cols = Math.Min(nr, nc - j0);
            var d = dst + (long)j0 * kc;
            if (!transB)
            {
                for (var p = 0; p < kc; p++)
                {
                    var src = b + (long)(pc + p) * ldb + jc + j0;
                    var dp = d + p * nr;
                    Buffer.MemoryCopy(src, dp, cols * sizeof(float), cols * sizeof(float));
                    for (var x = cols; x < nr; x++)
                    {
                        dp[x] = 0f;
                    }
                }
            }
            else
            {
                for (var x = 0; x < nr; x++)
                {
                    if (x < cols)
                    {
                        var src = b + (long)(jc + j0 + x) * ldb + pc;
                        for (var p = 0; p < kc; p++)
                        {
                            d[p * nr + x] = src[p];
                        }
                    }
                    else
                    {
                        for (var p = 0; p < kc; p++)
                        {
                            d[p * nr + x] = 0f;
                        }
                    }
                }
            }
        }
    }

    internal static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        for (var i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (long)i * ldc, n);
            if (beta == 0f)
            {
                row.Clear();
            }
            else if (beta != 1f)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
            }
        }
    }

    // Thread-local packing buffers on the pinned object heap: no per-call allocation, no pinning cost.
    private static float* Pinned(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer = GC.AllocateUninitializedArray<float>(Math.Max(length, 4096), pinned: true);
        }

        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
    }
}
