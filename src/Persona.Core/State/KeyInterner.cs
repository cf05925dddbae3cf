using System.Collections.Concurrent;

namespace Persona.Core.State;

/// <summary>
/// Dense integer ids for string keys (item ids, brands, category keys): 0, 1, 2, … in order of first sight, never
/// reused, and one shared string instance per key. State holds the ints (4 bytes each) instead of a reference to a
/// string per step, and hot paths compare ints instead of hashing strings. Thread-safe; <see cref="KeyOf"/>,
/// <see cref="Find"/> and <see cref="TryGetId"/> take no lock.
/// </summary>
public sealed class KeyInterner
{
    private readonly ConcurrentDictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly Lock _addLock = new();
    private string[] _keys = new string[256];
    private int _count;

    /// <summary>Keys interned so far; every id is below it.</summary>
    public int Count => Volatile.Read(ref _count);

    public int Intern(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_ids.TryGetValue(key, out var id)) return id;
        lock (_addLock)
        {
            if (_ids.TryGetValue(key, out id)) return id;
            id = _count;
            if (id == _keys.Length)
            {
                var grown = new string[id * 2];
                Array.Copy(_keys, grown, id);
                // Published before the id is: whoever finds the id reads an array that holds its key.
                Volatile.Write(ref _keys, grown);
            }
            _keys[id] = key;
            Volatile.Write(ref _count, id + 1);
            _ids[key] = id;
            return id;
        }
    }

    public bool TryGetId(string key, out int id) => _ids.TryGetValue(key, out id);

    /// <summary>
    /// The instance held for <paramref name="key"/> when it was interned, else <paramref name="key"/> itself: structures that
    /// keep item ids as strings hold this one copy instead of the one they decoded.
    /// </summary>
    public string Shared(string key) => _ids.TryGetValue(key, out var id) ? Volatile.Read(ref _keys)[id] : key;

    /// <summary>The key's id, or -1 when it was never interned.</summary>
    public int Find(string key) => _ids.TryGetValue(key, out var id) ? id : -1;

    /// <summary>The key of an id handed out by <see cref="Intern"/>.</summary>
    public string KeyOf(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, Count);
        return Volatile.Read(ref _keys)[id];
    }
}
