using Persona.Abstractions;

namespace Persona.Core.Ingestion;

/// <summary>
/// An event whose id was already stored with other content. The stored event is kept (an acknowledged event is
/// never changed); the answer names the fields that differ so the sender can see it re-used an id.
/// </summary>
/// <param name="Index">Position of the event in the request.</param>
/// <param name="Id">The event id.</param>
/// <param name="Fields">The JSON names of the fields whose sent value differs from the stored one.</param>
public sealed record EventConflict(int Index, string Id, IReadOnlyList<string> Fields)
{
    /// <summary>
    /// The fields in which <paramref name="sent"/> differs from <paramref name="stored"/> (both normalised). A
    /// timestamp the sender left out defaults to the time of receipt, which differs on every retry, so it is only
    /// compared when <paramref name="timestampSent"/>. Store-assigned fields (sequence, receipt time, burst flag) never count.
    /// </summary>
    public static List<string> Differences(StoredEvent sent, StoredEvent stored, bool timestampSent)
    {
        ArgumentNullException.ThrowIfNull(sent);
        ArgumentNullException.ThrowIfNull(stored);
        var fields = new List<string>();
        if (!string.Equals(sent.UserId, stored.UserId, StringComparison.Ordinal)) fields.Add("user_id");
        if (sent.Type != stored.Type) fields.Add("type");
        if (!string.Equals(sent.ItemId, stored.ItemId, StringComparison.Ordinal)) fields.Add("item_id");
        if (!string.Equals(sent.Query, stored.Query, StringComparison.Ordinal)) fields.Add("query");
        if (sent.Value != stored.Value) fields.Add("value");
        if (timestampSent && sent.Timestamp != stored.Timestamp) fields.Add("timestamp");
        if (!string.Equals(sent.SessionId, stored.SessionId, StringComparison.Ordinal)) fields.Add("session_id");
        if (!string.Equals(sent.Device, stored.Device, StringComparison.Ordinal)) fields.Add("device");
        if (!string.Equals(sent.Channel, stored.Channel, StringComparison.Ordinal)) fields.Add("channel");
        if (!string.Equals(sent.RequestId, stored.RequestId, StringComparison.Ordinal)) fields.Add("request_id");
        if (sent.Position != stored.Position) fields.Add("position");
        return fields;
    }
}
