namespace Persona.Core.Retrieval;

/// <summary>
/// Items near one item by the meaning of their text (the text encoder in service), whatever their interactions: how a
/// new item, which no shopper has touched yet, finds its neighbours and is found by them.
/// </summary>
public interface IItemTextNeighbours
{
    /// <summary>
    /// Up to <paramref name="count"/> items whose text vectors have the highest cosine (above 0) with
    /// <paramref name="itemId"/>'s, best first, each passing <paramref name="accept"/>; empty when the item has no vector
    /// yet (no encoder, or not encoded).
    /// </summary>
    IReadOnlyList<ScoredId> Nearest(string itemId, int count, Func<string, bool> accept);
}
