using Persona.Abstractions;
using Persona.Core.Ingestion;

namespace Persona.Hosting;

/// <summary>The answer to an event batch: either every error found (nothing stored) or what was stored.</summary>
public sealed record IngestOutcome
{
    public IReadOnlyList<FieldError> Errors { get; init; } = [];
    public bool IsValid => Errors.Count == 0;
    /// <summary>Events newly stored by this call.</summary>
    public int Stored { get; init; }
    /// <summary>Events already stored under the same id (retries, exact duplicates), skipped.</summary>
    public int Duplicates { get; init; }
    /// <summary>Stored events left out of profiles (bot-like bursts).</summary>
    public int Excluded { get; init; }
    /// <summary>Ids of the events of the batch in order, including derived ids for events sent without one.</summary>
    public IReadOnlyList<string> EventIds { get; init; } = [];
    /// <summary>Duplicates whose id was stored with other content: the stored event was kept, these were not stored.</summary>
    public IReadOnlyList<EventConflict> Conflicts { get; init; } = [];

    public static IngestOutcome Invalid(IReadOnlyList<FieldError> errors) => new() { Errors = errors };
}

/// <summary>Why a profile read found nothing to return.</summary>
public enum ProfileStatus
{
    Found,
    UnknownUser,
    /// <summary>The user withdrew consent to personalisation: no profile is built.</summary>
    ConsentWithdrawn,
}

public sealed record ProfileRead(ProfileStatus Status, Profile? Profile);

/// <summary>Progress of a long step: <paramref name="Done"/> of <paramref name="Total"/> units (events, items, bytes).</summary>
/// <param name="Stage">What is being done; one bar per stage.</param>
/// <param name="Done">Units done.</param>
/// <param name="Total">Units in all.</param>
/// <param name="Unit">What is counted (<see cref="Events"/>, <see cref="Bytes"/>), for a rate display; null: not shown.</param>
public readonly record struct WorkProgress(string Stage, long Done, long Total, string? Unit = null)
{
    public const string Events = "events";
    public const string Bytes = "bytes";
}

/// <summary>Counts shown by <c>/health</c> and the dashboard.</summary>
public sealed record PersonaStats(long Events, long Items, long Users, long Profiles, long LastSequence, DateTimeOffset? DataClock);
