using System.Collections.Frozen;
using System.Data.Common;
using System.Text.Json;

namespace Persona.Abstractions;

/// <summary>
/// The row layout every store provider gives its tables, and the conversions between rows and records that do not
/// depend on the database: the event columns in their order, times as UTC milliseconds, JSON records, values stored in
/// chunks.
/// </summary>
public static class StoreRows
{
    /// <summary>The columns of the events table, in the order <see cref="ReadEvent"/> reads them.</summary>
    public const string EventColumns =
        "sequence, id, user_id, type, item_id, query, value, timestamp, received_at, session_id, device, channel, excluded_reason, request_id, position";

    private static readonly FrozenDictionary<string, EventType> TypesByWireName =
        Enum.GetValues<EventType>().ToFrozenDictionary(t => t.ToWire(), StringComparer.Ordinal);

    /// <summary>The event at the reader's row, selected as <see cref="EventColumns"/>.</summary>
    public static StoredEvent ReadEvent(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var wire = reader.GetString(3);
        if (!TypesByWireName.TryGetValue(wire, out var type))
            throw new InvalidDataException($"Stored event {reader.GetString(1)} has unknown type '{wire}'.");
        return new StoredEvent
        {
            Sequence = reader.GetInt64(0),
            Id = reader.GetString(1),
            UserId = reader.GetString(2),
            Type = type,
            ItemId = NullableString(reader, 4),
            Query = NullableString(reader, 5),
            Value = reader.IsDBNull(6) ? null : reader.GetDouble(6),
            Timestamp = FromUnixMilliseconds(reader.GetInt64(7)),
            ReceivedAt = FromUnixMilliseconds(reader.GetInt64(8)),
            SessionId = NullableString(reader, 9),
            Device = NullableString(reader, 10),
            Channel = NullableString(reader, 11),
            ExcludedReason = NullableString(reader, 12),
            RequestId = NullableString(reader, 13),
            Position = reader.IsDBNull(14) ? null : checked((int)reader.GetInt64(14)),
        };
    }

    private static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>A stored time: UTC, to the millisecond.</summary>
    public static DateTimeOffset FromUnixMilliseconds(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    /// <summary>A stored JSON record; a stored <c>null</c> is damage, not an absent record.</summary>
    public static T Deserialize<T>(string json) where T : class =>
        JsonSerializer.Deserialize<T>(json, PersonaJson.Options) ?? throw new InvalidDataException($"Stored {typeof(T).Name} JSON is null.");

    /// <summary>The chunks <paramref name="data"/> is stored in: at least one (an empty value is still stored), each at most <paramref name="chunkBytes"/>.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Chunks(byte[] data, int chunkBytes)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkBytes);
        var offset = 0;
        do
        {
            var length = Math.Min(chunkBytes, data.Length - offset);
            yield return data.AsMemory(offset, length);
            offset += length;
        }
        while (offset < data.Length);
    }

    /// <summary>A value read back from its chunks, in order.</summary>
    public static byte[] Join(IReadOnlyList<byte[]> chunks)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        var data = new byte[chunks.Sum(c => (long)c.Length)];
        var at = 0;
        foreach (var chunk in chunks)
        {
            chunk.CopyTo(data, at);
            at += chunk.Length;
        }
        return data;
    }
}
