namespace Persona.Numerics;

/// <summary>Which implementation runs single-precision matrix multiplies.</summary>
public enum GemmBackend
{
    /// <summary>OpenBLAS when <c>libopenblas.so.0</c> loads, otherwise the managed kernels.</summary>
    Auto = 0,

    /// <summary>The managed cache-blocked SIMD kernels.</summary>
    Managed = 1,

    /// <summary>OpenBLAS <c>cblas_sgemm</c>; falls back to managed when the library is absent.</summary>
    OpenBlas = 2,
}

/// <summary>Which managed micro-kernel runs; <see cref="Auto"/> picks the widest accelerated vector.</summary>
public enum ManagedKernel
{
    Auto = 0,
    Scalar = 1,
    Vector128 = 2,
    Vector256 = 3,
    Vector512 = 4,
}
