using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Persona.Abstractions;

namespace Persona.Core.Ingestion;

/// <summary>
/// Turns validated client events into <see cref="StoredEvent"/>s. Pure and thread-safe.
/// </summary>
/// <remarks>
/// Defaulting rules, applied in this order:
/// <list type="number">
/// <item><c>user_id</c>, <c>item_id</c>, <c>session_id</c> and <c>id</c> are trimmed; a blank optional field becomes absent.</item>
/// <item><c>query</c> is trimmed and each run of white space inside it becomes one space; a blank query becomes absent.</item>
/// <item><c>device</c> and <c>channel</c> are trimmed and lower-cased (invariant culture); blank becomes absent.</item>
/// <item>A missing <c>timestamp</c> becomes the time the request was received. Timestamps (and
/// <c>received_at</c>) are converted to UTC and truncated to whole milliseconds.</item>
/// <item>A missing <c>id</c> becomes a content id: <c>h:</c> followed by the first 32 hex digits of the
/// SHA-256 of user, type, item, query, value, timestamp (Unix milliseconds) and session, after the rules
/// above. An exact duplicate therefore gets the same id and the store keeps one copy. Without a timestamp
/// the received time enters the id, so a client that retries must send a timestamp or an id.</item>
/// <item><c>value</c> is kept as sent; <c>sequence</c> is left 0 for the store to assign; the event counts
/// (<c>excluded_reason</c> null) until the burst detector says otherwise.</item>
/// </list>
/// </remarks>
public static class EventNormalizer
{
    /// <summary>The prefix of content-derived event ids.</summary>
    public const string ContentIdPrefix = "h:";

    /// <summary>Normalises one event received at <paramref name="receivedAt"/>.</summary>
    public static StoredEvent Normalize(Event e, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(e);
        var received = ToUtcMilliseconds(receivedAt);
        var userId = e.UserId.Trim();
        var itemId = Clean(e.ItemId);
        var query = CleanQuery(e.Query);
        var timestamp = e.Timestamp is { } t ? ToUtcMilliseconds(t) : received;
        var sessionId = Clean(e.SessionId);
        var requestId = Clean(e.RequestId);
        var id = Clean(e.Id) ?? ContentId(userId, e.Type, itemId, query, e.Value, timestamp, sessionId, requestId, e.Position);
        return new StoredEvent
        {
            Id = id,
            UserId = userId,
            Type = e.Type,
            ItemId = itemId,
            Query = query,
            Value = e.Value,
            Timestamp = timestamp,
            ReceivedAt = received,
            SessionId = sessionId,
            Device = Clean(e.Device)?.ToLowerInvariant(),
            Channel = Clean(e.Channel)?.ToLowerInvariant(),
            RequestId = requestId,
            Position = e.Position,
        };
    }

    /// <summary>
    /// Normalises a batch in order and drops later copies of an id already seen in the same batch
    /// (<paramref name="duplicates"/> counts them); copies of ids stored earlier are the store's to skip.
    /// </summary>
    public static IReadOnlyList<StoredEvent> NormalizeBatch(IReadOnlyList<Event> events, DateTimeOffset receivedAt, out int duplicates)
    {
        ArgumentNullException.ThrowIfNull(events);
        var result = new List<StoredEvent>(events.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        duplicates = 0;
        foreach (var e in events)
        {
            var stored = Normalize(e, receivedAt);
            if (seen.Add(stored.Id)) result.Add(stored);
            else duplicates++;
        }
        return result;
    }

    /// <summary>
    /// The content id of already-normalised fields. Each field is length-prefixed before hashing so that no
    /// two different field tuples share an input.
    /// </summary>
    public static string ContentId(
        string userId, EventType type, string? itemId, string? query, double? value, DateTimeOffset timestamp, string? sessionId,
        string? requestId = null, int? position = null)
    {
        var text = new StringBuilder(128);
        Append(text, userId);
        Append(text, type.ToWire());
        Append(text, itemId);
        Append(text, query);
        Append(text, value?.ToString("R", CultureInfo.InvariantCulture));
        Append(text, timestamp.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        Append(text, sessionId);
        // Only when sent, so the ids of events without them stay what they were: one item shown by two answers at the
        // same millisecond is two impressions.
        if (requestId is not null || position is not null)
        {
            Append(text, requestId);
            Append(text, position?.ToString(CultureInfo.InvariantCulture));
        }
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()), hash);
        // 128 bits keep ids short while collisions stay out of reach for any event log.
        return ContentIdPrefix + Convert.ToHexStringLower(hash[..16]);
    }

    private static void Append(StringBuilder text, string? field)
    {
        if (field is null)
        {
            text.Append("-;");
            return;
        }
        text.Append(field.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(field).Append(';');
    }

    private static string? Clean(string? value)
    {
        if (value is null) return null;
        var trimmed = value.Trim();
        return trimmed.Length == 0 ? null : trimmed;
    }

    private static string? CleanQuery(string? query)
    {
        var trimmed = Clean(query);
        if (trimmed is null) return null;
        var text = new StringBuilder(trimmed.Length);
        var inSpace = false;
        foreach (var c in trimmed)
        {
            if (char.IsWhiteSpace(c))
            {
                if (!inSpace) text.Append(' ');
                inSpace = true;
            }
            else
            {
                text.Append(c);
                inSpace = false;
            }
        }
        return text.ToString();
    }

    private static DateTimeOffset ToUtcMilliseconds(DateTimeOffset t) =>
        DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());
}
