using FsCheck;
using FsCheck.Fluent;

namespace Persona.Numerics.Tests;

public sealed class SelectionTests
{
    [Fact]
    public void KthLargest_AnyValuesWithTies_EqualsTheSortedValueAtThatRank()
    {
        var property = Prop.ForAll(Gen.Choose(0, int.MaxValue - 1).ToArbitrary(), seed =>
        {
            var random = new Random(seed);
            var values = Enumerable.Range(0, 1 + random.Next(300)).Select(_ => (double)random.Next(random.Next(2) == 0 ? 5 : 1_000)).ToArray();
            var k = 1 + random.Next(values.Length);
            var expected = values.OrderDescending().ElementAt(k - 1);
            var floats = values.Select(v => (float)v).ToArray();
            return Selection.KthLargest(values.AsSpan(), k) == expected && Selection.KthLargest(floats.AsSpan(), k) == (float)expected;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), property);
    }
}
