using System.Collections;
using System.Globalization;

namespace Persona.Neural.Modules;

/// <summary>An ordered list of sub-modules named by index (<c>0</c>, <c>1</c>, …).</summary>
public sealed class ModuleList<T> : Module, IReadOnlyList<T>
    where T : Module
{
    private readonly List<T> _items = [];

    public ModuleList(IEnumerable<T>? items = null)
    {
        foreach (var item in items ?? [])
        {
            Add(item);
        }
    }

    public int Count => _items.Count;

    public T this[int index] => _items[index];

    public void Add(T module)
    {
        RegisterModule(_items.Count.ToString(CultureInfo.InvariantCulture), module);
        _items.Add(module);
    }

    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
