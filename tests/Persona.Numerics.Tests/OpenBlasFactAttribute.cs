using Persona.Numerics;

namespace Persona.Numerics.Tests;

/// <summary>A fact that is skipped, visibly, on machines without libopenblas.so.0.</summary>
public sealed class OpenBlasFactAttribute : FactAttribute
{
    public OpenBlasFactAttribute()
    {
        if (!Gemm.IsOpenBlasAvailable)
        {
            Skip = "libopenblas.so.0 is not installed (apt-get install libopenblas0-pthread)";
        }
    }
}

/// <summary>A theory that is skipped, visibly, on machines without libopenblas.so.0.</summary>
public sealed class OpenBlasTheoryAttribute : TheoryAttribute
{
    public OpenBlasTheoryAttribute()
    {
        if (!Gemm.IsOpenBlasAvailable)
        {
            Skip = "libopenblas.so.0 is not installed (apt-get install libopenblas0-pthread)";
        }
    }
}
