namespace Persona.Core.Retrieval;

/// <summary>Keeps count rows (item → followers or neighbours) from growing without limit.</summary>
internal static class BoundedRows
{
    /// <summary>
    /// When <paramref name="row"/> holds more than twice <paramref name="keep"/> entries, cuts it back to the
    /// <paramref name="keep"/> largest values (ties: smaller key); cutting only at twice the size keeps the cost
    /// amortised O(1) per increment.
    /// </summary>
    public static void Trim<TKey, TValue>(Dictionary<TKey, TValue> row, int keep, IComparer<TKey> keyOrder)
        where TKey : notnull
        where TValue : IComparable<TValue>
    {
        if (row.Count <= 2 * keep) return;
        var kept = row.OrderByDescending(p => p.Value).ThenBy(p => p.Key, keyOrder).Take(keep).ToList();
        row.Clear();
        foreach (var (key, value) in kept) row[key] = value;
    }
}
