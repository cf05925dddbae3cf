using Persona.Core.State;

namespace Persona.Core.Search;

/// <summary>
/// The numberings a search index shares with what re-ranks its candidates: item ids (co-visitation counts in the same
/// numbering), brands and category keys, so a query's head is scored on ints.
/// </summary>
/// <param name="items">The item numbering to share (the shopper steps' and item pairs'); a new one when null.</param>
public sealed class SearchKeys(KeyInterner? items = null)
{
    public KeyInterner Items { get; } = items ?? new KeyInterner();
    public KeyInterner Brands { get; } = new();
    public KeyInterner Categories { get; } = new();
}
