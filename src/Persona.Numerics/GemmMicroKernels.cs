// The three vector kernels are one template at three widths (16/8/4 floats per vector); keep them in step.
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Persona.Numerics;

/// <summary>
/// Mr×Nr register-tile kernels: C tile (+)= A rows × B strip over kc steps. A's element (r, p) is read at
/// a[r·aRow + p·aStep] (packed: aRow 1, aStep Mr; straight from a row-major matrix: aRow lda, aStep 1; from a
/// transposed one: aRow 1, aStep lda). B's p-th row of Nr values starts at b + p·bStep (packed: Nr; direct: ldb).
/// The finished tile is parked in <c>tile</c> (Mr×Nr floats from the caller) and written to C from there: with C
/// stores and a stackalloc after the loop, the JIT (without dynamic PGO) spilled every accumulator on every FMA.
/// </summary>
internal static unsafe class GemmMicroKernels
{
    /// <summary>6×32 tile: 12 Vector512 accumulators + 2 B vectors + 1 broadcast fit the register file.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel512(int kc, float* a, nint aRow, nint aStep, float* b, nint bStep, float* c, int ldc, float alpha, float beta, int mr, int nr, float* tile)
    {
        Vector512<float> c00 = default, c01 = default;
        Vector512<float> c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default;
        Vector512<float> c50 = default, c51 = default;
        float* a0 = a, a1 = a + aRow, a2 = a + (2 * aRow), a3 = a + (3 * aRow), a4 = a + (4 * aRow), a5 = a + (5 * aRow);
        nint o = 0;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x0 = Vector512.Create(a0[o]);
            c00 = Vector512.MultiplyAddEstimate(x0, b0, c00);
            c01 = Vector512.MultiplyAddEstimate(x0, b1, c01);
            var x1 = Vector512.Create(a1[o]);
            c10 = Vector512.MultiplyAddEstimate(x1, b0, c10);
            c11 = Vector512.MultiplyAddEstimate(x1, b1, c11);
            var x2 = Vector512.Create(a2[o]);
            c20 = Vector512.MultiplyAddEstimate(x2, b0, c20);
            c21 = Vector512.MultiplyAddEstimate(x2, b1, c21);
            var x3 = Vector512.Create(a3[o]);
            c30 = Vector512.MultiplyAddEstimate(x3, b0, c30);
            c31 = Vector512.MultiplyAddEstimate(x3, b1, c31);
            var x4 = Vector512.Create(a4[o]);
            c40 = Vector512.MultiplyAddEstimate(x4, b0, c40);
            c41 = Vector512.MultiplyAddEstimate(x4, b1, c41);
            var x5 = Vector512.Create(a5[o]);
            c50 = Vector512.MultiplyAddEstimate(x5, b0, c50);
            c51 = Vector512.MultiplyAddEstimate(x5, b1, c51);
            o += aStep;
            b += bStep;
        }

        c00.Store(tile + 0);
        c01.Store(tile + 16);
        c10.Store(tile + 32);
        c11.Store(tile + 48);
        c20.Store(tile + 64);
        c21.Store(tile + 80);
        c30.Store(tile + 96);
        c31.Store(tile + 112);
        c40.Store(tile + 128);
        c41.Store(tile + 144);
        c50.Store(tile + 160);
        c51.Store(tile + 176);
        WriteTile(tile, 32, c, ldc, alpha, beta, mr, nr);
    }
    /// <summary>6×16 tile: 12 Vector256 accumulators + 2 B vectors + 1 broadcast fit the register file.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel256(int kc, float* a, nint aRow, nint aStep, float* b, nint bStep, float* c, int ldc, float alpha, float beta, int mr, int nr, float* tile)
    {
        Vector256<float> c00 = default, c01 = default;
        Vector256<float> c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default;
        Vector256<float> c50 = default, c51 = default;
        float* a0 = a, a1 = a + aRow, a2 = a + (2 * aRow), a3 = a + (3 * aRow), a4 = a + (4 * aRow), a5 = a + (5 * aRow);
        nint o = 0;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x0 = Vector256.Create(a0[o]);
            c00 = Vector256.MultiplyAddEstimate(x0, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(x0, b1, c01);
            var x1 = Vector256.Create(a1[o]);
            c10 = Vector256.MultiplyAddEstimate(x1, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(x1, b1, c11);
            var x2 = Vector256.Create(a2[o]);
            c20 = Vector256.MultiplyAddEstimate(x2, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(x2, b1, c21);
            var x3 = Vector256.Create(a3[o]);
            c30 = Vector256.MultiplyAddEstimate(x3, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(x3, b1, c31);
            var x4 = Vector256.Create(a4[o]);
            c40 = Vector256.MultiplyAddEstimate(x4, b0, c40);
            c41 = Vector256.MultiplyAddEstimate(x4, b1, c41);
            var x5 = Vector256.Create(a5[o]);
            c50 = Vector256.MultiplyAddEstimate(x5, b0, c50);
            c51 = Vector256.MultiplyAddEstimate(x5, b1, c51);
            o += aStep;
            b += bStep;
        }

        c00.Store(tile + 0);
        c01.Store(tile + 8);
        c10.Store(tile + 16);
        c11.Store(tile + 24);
        c20.Store(tile + 32);
        c21.Store(tile + 40);
        c30.Store(tile + 48);
        c31.Store(tile + 56);
        c40.Store(tile + 64);
        c41.Store(tile + 72);
        c50.Store(tile + 80);
        c51.Store(tile + 88);
        WriteTile(tile, 16, c, ldc, alpha, beta, mr, nr);
    }
    /// <summary>6×8 tile: 12 Vector128 accumulators + 2 B vectors + 1 broadcast fit the register file.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel128(int kc, float* a, nint aRow, nint aStep, float* b, nint bStep, float* c, int ldc, float alpha, float beta, int mr, int nr, float* tile)
    {
        Vector128<float> c00 = default, c01 = default;
        Vector128<float> c10 = default, c11 = default;
        Vector128<float> c20 = default, c21 = default;
        Vector128<float> c30 = default, c31 = default;
        Vector128<float> c40 = default, c41 = default;
        Vector128<float> c50 = default, c51 = default;
        float* a0 = a, a1 = a + aRow, a2 = a + (2 * aRow), a3 = a + (3 * aRow), a4 = a + (4 * aRow), a5 = a + (5 * aRow);
        nint o = 0;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            var x0 = Vector128.Create(a0[o]);
            c00 = Vector128.MultiplyAddEstimate(x0, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(x0, b1, c01);
            var x1 = Vector128.Create(a1[o]);
            c10 = Vector128.MultiplyAddEstimate(x1, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(x1, b1, c11);
            var x2 = Vector128.Create(a2[o]);
            c20 = Vector128.MultiplyAddEstimate(x2, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(x2, b1, c21);
            var x3 = Vector128.Create(a3[o]);
            c30 = Vector128.MultiplyAddEstimate(x3, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(x3, b1, c31);
            var x4 = Vector128.Create(a4[o]);
            c40 = Vector128.MultiplyAddEstimate(x4, b0, c40);
            c41 = Vector128.MultiplyAddEstimate(x4, b1, c41);
            var x5 = Vector128.Create(a5[o]);
            c50 = Vector128.MultiplyAddEstimate(x5, b0, c50);
            c51 = Vector128.MultiplyAddEstimate(x5, b1, c51);
            o += aStep;
            b += bStep;
        }

        c00.Store(tile + 0);
        c01.Store(tile + 4);
        c10.Store(tile + 8);
        c11.Store(tile + 12);
        c20.Store(tile + 16);
        c21.Store(tile + 20);
        c30.Store(tile + 24);
        c31.Store(tile + 28);
        c40.Store(tile + 32);
        c41.Store(tile + 36);
        c50.Store(tile + 40);
        c51.Store(tile + 44);
        WriteTile(tile, 8, c, ldc, alpha, beta, mr, nr);
    }
    /// <summary>Reference kernel for machines without SIMD: same operand layout, 6×8 tile.</summary>
    internal static void KernelScalar(int kc, float* a, nint aRow, nint aStep, float* b, nint bStep, float* c, int ldc, float alpha, float beta, int mr, int nr, float* tile)
    {
        const int Width = 8;
        new Span<float>(tile, ManagedGemm.Mr * Width).Clear();
        for (var p = 0; p < kc; p++)
        {
            for (var r = 0; r < ManagedGemm.Mr; r++)
            {
                var ar = a[(r * aRow) + (p * aStep)];
                var t = tile + (r * Width);
                for (var x = 0; x < Width; x++)
                {
                    t[x] += ar * b[x];
                }
            }

            b += bStep;
        }

        WriteTile(tile, Width, c, ldc, alpha, beta, mr, nr);
    }

    // C (mr×nr) = alpha·tile + beta·C, row by row through TensorPrimitives; beta = 0 never reads C.
    private static void WriteTile(float* tile, int width, float* c, int ldc, float alpha, float beta, int mr, int nr)
    {
        if (nr == width && width % 8 == 0 && Vector256.IsHardwareAccelerated && (beta == 0f || beta == 1f))
        {
            // Full tile: plain vector loads and stores instead of 2·mr span calls (≈ 5 % of a 512³ product).
            var va = Vector256.Create(alpha);
            for (var r = 0; r < mr; r++)
            {
                var dst = c + (r * (long)ldc);
                var src = tile + (r * width);
                for (var j = 0; j < width; j += 8)
                {
                    var v = Vector256.Load(src + j) * va;
                    if (beta != 0f)
                    {
                        v += Vector256.Load(dst + j);
                    }

                    v.Store(dst + j);
                }
            }

            return;
        }

        for (var r = 0; r < mr; r++)
        {
            var dst = new Span<float>(c + (r * (long)ldc), nr);
            var src = new ReadOnlySpan<float>(tile + (r * width), nr);
            if (beta == 0f)
            {
                TensorPrimitives.Multiply(src, alpha, dst);
            }
            else
            {
                if (beta != 1f)
                {
                    TensorPrimitives.Multiply(dst, beta, dst);
                }

                TensorPrimitives.MultiplyAdd(src, alpha, dst, dst);
            }
        }
    }
}
