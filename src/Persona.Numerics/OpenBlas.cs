using System.Runtime.InteropServices;

namespace Persona.Numerics;

/// <summary>
/// Run-time binding to <c>cblas_sgemm</c> in OpenBLAS (Debian <c>libopenblas0-pthread</c>).
/// Loaded with <see cref="NativeLibrary"/> so the process still runs when the library is absent.
/// </summary>
public static unsafe class OpenBlas
{
    private const int RowMajor = 101;
    private const int NoTrans = 111;
    private const int Trans = 112;

    private static readonly string[] Candidates =
    [
        "libopenblas.so.0",
        "libopenblas.so",
        "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
        "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
        "libopenblas.dylib",
        "libopenblas.dll",
    ];

    // cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); blasint is 32-bit in Debian's build.
    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> SgemmPtr;
    private static readonly delegate* unmanaged<int, void> SetThreadsPtr;
    private static readonly delegate* unmanaged<int> GetThreadsPtr;

#pragma warning disable CA1810 // the native binding is resolved once, before first use
    static OpenBlas()
#pragma warning restore CA1810
    {
        foreach (var name in Candidates)
        {
            if (!NativeLibrary.TryLoad(name, out var handle))
            {
                continue;
            }

            if (NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var sgemm))
            {
                SgemmPtr = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
                if (NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var set))
                {
                    SetThreadsPtr = (delegate* unmanaged<int, void>)set;
                }

                if (NativeLibrary.TryGetExport(handle, "openblas_get_num_threads", out var get))
                {
                    GetThreadsPtr = (delegate* unmanaged<int>)get;
                }

                LibraryName = name;
                return;
            }

            NativeLibrary.Free(handle);
        }
    }

    /// <summary>True when <c>cblas_sgemm</c> was found.</summary>
    public static bool IsAvailable => SgemmPtr != null;

    /// <summary>The library name that loaded, or null.</summary>
    public static string? LibraryName { get; }

    /// <summary>Threads OpenBLAS uses for one call (0 when unknown or absent).</summary>
    public static int Threads
    {
        get => GetThreadsPtr != null ? GetThreadsPtr() : 0;
        set
        {
            if (SetThreadsPtr != null)
            {
                SetThreadsPtr(Math.Max(1, value));
            }
        }
    }

    /// <summary>C = alpha·op(A)·op(B) + beta·C in row-major order; arguments are validated by <see cref="Gemm"/>.</summary>
    internal static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (!IsAvailable)
        {
            throw new InvalidOperationException("OpenBLAS is not loaded.");
        }

        SgemmPtr(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}
