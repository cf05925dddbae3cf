using Persona.Abstractions;

namespace Persona.Core.Ingestion;

/// <summary>
/// An event exactly as a client sent it, before the type string is parsed: the JSON layer binds request
/// bodies to this shape (same snake_case names as <see cref="Event"/>) so that a missing user id or an
/// unknown type becomes a <see cref="FieldError"/> with the event's index instead of a failed parse.
/// See <see cref="EventValidator.ValidateRaw"/>.
/// </summary>
public sealed record RawEvent
{
    public string? Id { get; init; }
    public string? UserId { get; init; }
    /// <summary>Wire name of the type (<c>add_to_cart</c>); case and surrounding spaces are ignored.</summary>
    public string? Type { get; init; }
    public string? ItemId { get; init; }
    public string? Query { get; init; }
    public double? Value { get; init; }
    public DateTimeOffset? Timestamp { get; init; }
    public string? SessionId { get; init; }
    public string? Device { get; init; }
    public string? Channel { get; init; }
    public string? RequestId { get; init; }
    /// <summary>As sent (a JSON number); <see cref="EventValidator"/> requires a whole number from 1.</summary>
    public double? Position { get; init; }
}

/// <summary>The result of validating raw events: the parsed events when <see cref="Errors"/> is empty.</summary>
/// <param name="Events">Parsed events in batch order; empty when any error was found (a rejected batch writes nothing).</param>
/// <param name="Errors">Every problem found, in batch order.</param>
public sealed record RawEventValidation(IReadOnlyList<Event> Events, IReadOnlyList<FieldError> Errors)
{
    public bool IsValid => Errors.Count == 0;
}
