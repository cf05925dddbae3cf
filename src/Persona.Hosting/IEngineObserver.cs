using Persona.Abstractions;

namespace Persona.Hosting;

/// <summary>
/// Follows what the engine stores: search indexes, recommendation state and caches register one with
/// <see cref="PersonaEngine.AddObserver"/>. Calls come from the engine's write path: keep them short and never throw.
/// </summary>
public interface IEngineObserver
{
    /// <summary>A batch of newly stored events (duplicates already dropped), before the batch is acknowledged.</summary>
    void OnEventsStored(IReadOnlyList<StoredEvent> events);

    /// <summary>Items just upserted (validated and stored), after the catalog snapshot was swapped.</summary>
    void OnItemsUpserted(IReadOnlyList<Item> items);
}
