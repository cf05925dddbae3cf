using System.Numerics;

namespace Persona.Numerics;

/// <summary>Order statistics without a full sort.</summary>
public static class Selection
{
    /// <summary>
    /// The k-th largest value (k ≥ 1) of <paramref name="values"/>, which it reorders (Hoare quickselect, median-of-three
    /// pivot; O(n) expected).
    /// </summary>
    public static T KthLargest<T>(Span<T> values, int k) where T : INumber<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, values.Length);
        int lo = 0, hi = values.Length - 1, target = k - 1;
        while (lo < hi)
        {
            var pivot = Median(values[lo], values[lo + ((hi - lo) >> 1)], values[hi]);
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] > pivot) i++;
                while (values[j] < pivot) j--;
                if (i > j) break;
                (values[i], values[j]) = (values[j], values[i]);
                i++;
                j--;
            }
            // Now values[lo..j] ≥ pivot ≥ values[i..hi], and anything between j and i equals the pivot.
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else return pivot;
        }
        return values[target];

        static T Median(T a, T b, T c) => T.Max(T.Min(a, b), T.Min(T.Max(a, b), c));
    }
}
