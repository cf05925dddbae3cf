using System.Runtime.CompilerServices;
using Persona.Numerics;

namespace Persona.Numerics.Tests;

/// <summary>A fact that is skipped, visibly, on machines without libopenblas.so.0.</summary>
public sealed class OpenBlasFactAttribute : FactAttribute
{
    /// <param name="test">Filled in by the compiler: the name of the test method.</param>
    public OpenBlasFactAttribute([CallerMemberName] string test = "")
    {
        if (!Gemm.IsOpenBlasAvailable)
        {
            Skip = OpenBlasSkip.Reason;
            DisplayName = OpenBlasSkip.Name(test);
        }
    }
}

/// <summary>A theory that is skipped, visibly, on machines without libopenblas.so.0.</summary>
public sealed class OpenBlasTheoryAttribute : TheoryAttribute
{
    /// <param name="test">Filled in by the compiler: the name of the test method.</param>
    public OpenBlasTheoryAttribute([CallerMemberName] string test = "")
    {
        if (!Gemm.IsOpenBlasAvailable)
        {
            Skip = OpenBlasSkip.Reason;
            DisplayName = OpenBlasSkip.Name(test);
        }
    }
}

/// <summary>
/// <c>dotnet test</c> lists a skipped test by name only (the reason shows at <c>--verbosity normal</c>), so the
/// reason goes into the name.
/// </summary>
public static class OpenBlasSkip
{
    public const string Reason = "libopenblas.so.0 is not installed (apt-get install libopenblas0-pthread)";

    public static string Name(string test) => $"{test} — skipped: {Reason}";
}
