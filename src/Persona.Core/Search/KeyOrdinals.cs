using System.Collections.Concurrent;

namespace Persona.Core.Search;

/// <summary>
/// Dense integer ordinals for string keys (0, 1, 2, … in order of first sight), never reused or removed, so hot paths
/// compare ints instead of hashing strings. Thread-safe; lookups take no lock.
/// </summary>
public sealed class KeyOrdinals
{
    private readonly ConcurrentDictionary<string, int> _ordinals = new(StringComparer.Ordinal);
    private readonly Lock _addLock = new();
    // Keys by ordinal, for writing ordinal-keyed state by name (checkpoints outlive one process's numbering).
    private readonly List<string> _keys = [];
    private int _count;

    /// <summary>Ordinals handed out so far; every ordinal is below it.</summary>
    public int Count => Volatile.Read(ref _count);

    public int GetOrAdd(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_ordinals.TryGetValue(key, out var ordinal)) return ordinal;
        lock (_addLock)
        {
            if (_ordinals.TryGetValue(key, out ordinal)) return ordinal;
            ordinal = _count;
            _keys.Add(key);
            _ordinals[key] = ordinal;
            Volatile.Write(ref _count, ordinal + 1);
            return ordinal;
        }
    }

    /// <summary>The key of an ordinal handed out earlier.</summary>
    public string KeyOf(int ordinal)
    {
        lock (_addLock) return _keys[ordinal];
    }

    /// <summary>The key's ordinal, or -1 when it was never seen.</summary>
    public int Find(string key) => _ordinals.TryGetValue(key, out var ordinal) ? ordinal : -1;
}

/// <summary>
/// The numberings a search index shares with what re-ranks its candidates: item ids (co-visitation counts in the same
/// numbering), brands and category keys, so a query's head is scored on ints.
/// </summary>
public sealed class SearchKeys
{
    public KeyOrdinals Items { get; } = new();
    public KeyOrdinals Brands { get; } = new();
    public KeyOrdinals Categories { get; } = new();
}
