using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Persona.Abstractions;

/// <summary>
/// Shares what items read from a store have in common, for a catalog held in memory: one instance of each currency,
/// category path, attribute name and short attribute value, and a small array in place of each item's attribute
/// dictionary. A million items read as JSON otherwise hold a million copies of "CNY", of every attribute name and of
/// their category paths (about 250 MB at a million items with one attribute each).
/// </summary>
/// <remarks>One instance per read pass; not thread-safe. The items it returns equal the ones it was given.</remarks>
public sealed class ItemCompactor
{
    /// <summary>Values longer than this are the item's own (descriptions, URLs) and are not pooled.</summary>
    public const int MaxPooledLength = 32;

    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _paths = new(StringComparer.Ordinal);

    public Item Compact(Item item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return item with
        {
            Currency = Share(item.Currency),
            CategoryPath = SharePath(item.CategoryPath),
            Attributes = CompactAttributes.From(item.Attributes, this),
        };
    }

    private string Share(string value)
    {
        if (value.Length > MaxPooledLength) return value;
        if (_strings.TryGetValue(value, out var shared)) return shared;
        _strings[value] = value;
        return value;
    }

    private IReadOnlyList<string> SharePath(IReadOnlyList<string> path)
    {
        if (path.Count == 0) return [];
        var key = string.Join('\u001f', path);
        if (_paths.TryGetValue(key, out var shared)) return shared;
        var segments = new string[path.Count];
        for (var i = 0; i < segments.Length; i++) segments[i] = Share(path[i]);
        _paths[key] = segments;
        return segments;
    }

    /// <summary>An item's few attributes as one array of (name, value) pairs; ordinal names, like the dictionary it replaces.</summary>
    private sealed class CompactAttributes : IReadOnlyDictionary<string, string>
    {
        private const int MaxPairs = 8;
        private static readonly CompactAttributes Empty = new([]);

        // [name₀, value₀, name₁, value₁, …]
        private readonly string[] _pairs;

        private CompactAttributes(string[] pairs) => _pairs = pairs;

        public static IReadOnlyDictionary<string, string> From(IReadOnlyDictionary<string, string> attributes, ItemCompactor pool)
        {
            if (attributes.Count == 0) return Empty;
            if (attributes.Count > MaxPairs) return attributes;
            var pairs = new string[2 * attributes.Count];
            var i = 0;
            foreach (var (name, value) in attributes)
            {
                pairs[i++] = pool.Share(name);
                pairs[i++] = pool.Share(value);
            }
            return new CompactAttributes(pairs);
        }

        public int Count => _pairs.Length / 2;

        public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No attribute '{key}'.");

        public IEnumerable<string> Keys
        {
            get
            {
                for (var i = 0; i < _pairs.Length; i += 2) yield return _pairs[i];
            }
        }

        public IEnumerable<string> Values
        {
            get
            {
                for (var i = 1; i < _pairs.Length; i += 2) yield return _pairs[i];
            }
        }

        public bool ContainsKey(string key) => TryGetValue(key, out _);

        public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
        {
            ArgumentNullException.ThrowIfNull(key);
            for (var i = 0; i < _pairs.Length; i += 2)
            {
                if (!string.Equals(_pairs[i], key, StringComparison.Ordinal)) continue;
                value = _pairs[i + 1];
                return true;
            }
            value = null;
            return false;
        }

        public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
        {
            for (var i = 0; i < _pairs.Length; i += 2) yield return new(_pairs[i], _pairs[i + 1]);
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
