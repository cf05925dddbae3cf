using Persona.Abstractions;

namespace Persona.Hosting;

/// <summary>
/// An observer whose state is a derived part mixing many shoppers (the engine's item pairs, recommendations'
/// popularity, search's query clicks; see docs/state.md). When it registers before <see cref="PersonaEngine.StartAsync"/>, the
/// engine restores it from the store's <see cref="StatePart"/> and feeds it the rest of the log in the same pass
/// that replays the shopper states, so the log is read once at start; each checkpoint in which the log moved writes
/// it again, with the sequence it covers.
/// </summary>
public interface IStatePartObserver : IEngineObserver
{
    /// <summary>The part's name in the store.</summary>
    string PartName { get; }

    /// <summary>The options and format that shape the part; a stored part written under another is rebuilt from the log.</summary>
    string PartFingerprint { get; }

    /// <summary>Before the start pass: what the part reads besides events (the stored catalog and user records).</summary>
    void PrepareStart(IReadOnlyList<Item> items, IReadOnlyList<User> users);

    /// <summary>Restores the stored part; false, with nothing changed, when the data cannot be read.</summary>
    bool TryRestore(byte[] data);

    /// <summary>Stored events of the start pass after the part's sequence, in sequence order.</summary>
    void ReplayStored(IReadOnlyList<StoredEvent> events);

    /// <summary>The start pass is over: batches from now on arrive through <see cref="IEngineObserver.OnEventsStored"/>.</summary>
    void CompleteStart();

    /// <summary>The part as it is; called while no batch is being applied, so it covers exactly the events applied.</summary>
    byte[] Encode();
}
