using FsCheck;
using FsCheck.Fluent;

namespace Persona.Numerics.Tests;

public class RowDotsTests
{
    [Fact]
    public void Compute_RandomShapes_MatchesScalarDotProducts()
    {
        var shapes = Gen.Choose(0, 37).SelectMany(rows => Gen.Elements(1, 3, 8, 16, 24, 64, 72).Select(dim => (rows, dim)));
        Prop.ForAll(shapes.ToArbitrary(), shape =>
        {
            var random = new Random(shape.rows * 131 + shape.dim);
            var matrix = Enumerable.Range(0, shape.rows * shape.dim).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            var query = Enumerable.Range(0, shape.dim).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            var scores = new float[shape.rows];

            RowDots.Compute(matrix, query, scores);

            for (var r = 0; r < shape.rows; r++)
            {
                var expected = 0.0;
                for (var j = 0; j < shape.dim; j++) expected += matrix[r * shape.dim + j] * query[j];
                Assert.Equal(expected, scores[r], 1e-4);
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void TopRows_AnyScoresWithTies_EqualsTheHeadOfAFullSort()
    {
        // Few distinct values, so ties at the boundary are common; ascending runs are the order that hurt a heap.
        var cases = Gen.Choose(0, 60).SelectMany(rows => Gen.Choose(0, 70).SelectMany(count =>
            Gen.ArrayOf(Gen.Choose(-4, 4), rows).Select(values => (values, count))));
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var scores = c.values.Select(v => (float)v).ToArray();
            var sorted = Enumerable.Range(0, scores.Length).OrderByDescending(r => scores[r]).ThenBy(r => r).ToArray();
            int[] expected = c.count <= 0 || scores.Length == 0 ? []
                : sorted.Where(r => scores[r] >= scores[sorted[Math.Min(c.count, scores.Length) - 1]]).ToArray();

            Assert.Equal(expected, RowDots.TopRows(scores, scores.Length, c.count));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void TopRows_FewOfManyRows_EqualsTheHeadOfAFullSort()
    {
        // The sampled-threshold path: many rows, few wanted; ties (few distinct values), NaNs and sorted runs included.
        var cases = Gen.Choose(65_536, 150_000).SelectMany(rows => Gen.Choose(1, rows / 64).SelectMany(count =>
            Gen.Elements(0, 3, 1_000_000).SelectMany(distinct => Gen.Choose(0, 2).SelectMany(shape => Gen.Choose(0, int.MaxValue).Select(seed =>
                (rows, count, distinct, shape, seed))))));
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var random = new Random(c.seed);
            var scores = new float[c.rows];
            for (var r = 0; r < scores.Length; r++)
                scores[r] = c.distinct == 0 ? (r % 97 == 0 ? float.NaN : (float)random.NextDouble()) : random.Next(c.distinct == 3 ? 3 : c.distinct);
            if (c.shape == 1) Array.Sort(scores);
            if (c.shape == 2) Array.Reverse(scores);
            var sorted = Enumerable.Range(0, scores.Length).Where(r => !float.IsNaN(scores[r]))
                .OrderByDescending(r => scores[r]).ThenBy(r => r).ToArray();
            var expected = sorted.Where(r => scores[r] >= scores[sorted[Math.Min(c.count, sorted.Length) - 1]]).ToArray();

            Assert.Equal(expected, RowDots.TopRows(scores, scores.Length, c.count));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(25));
    }

    [Fact]
    public void TopRows_NaNScores_AreNeverReturned()
    {
        float[] scores = [1, float.NaN, 3, float.NaN, 2];

        Assert.Equal([2, 4, 0], RowDots.TopRows(scores, scores.Length, 5));
        Assert.Equal([2, 4], RowDots.TopRows(scores, scores.Length, 2));
    }
}
