using FsCheck;
using FsCheck.Fluent;

namespace Persona.Neural.Tests;

internal static class Property
{
    /// <summary>Runs <paramref name="body"/> on <paramref name="count"/> values drawn from <paramref name="gen"/>.</summary>
    public static void ForAll<T>(Gen<T> gen, Action<T> body, int count = 12) =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(count), Prop.ForAll(gen.ToArbitrary(), body));

    public static Gen<int[]> Shape(int minRank, int maxRank, int maxDim = 4) =>
        from rank in Gen.Choose(minRank, maxRank)
        from dims in Gen.ArrayOf(Gen.Choose(1, maxDim), rank)
        select dims;

    public static Gen<int> Seed => Gen.Choose(0, 1_000_000);
}
