using Persona.Core.State;

namespace Persona.Core.Search;

/// <summary>
/// The numberings a search index shares with what re-ranks its candidates: item ids (co-visitation counts in the same
/// numbering), brands and category keys, so a query's head is scored on ints.
/// </summary>
public sealed class SearchKeys
{
    public KeyInterner Items { get; } = new();
    public KeyInterner Brands { get; } = new();
    public KeyInterner Categories { get; } = new();
}
