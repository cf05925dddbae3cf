using System.Text.Json;
using Persona.Abstractions;

namespace Persona.Hosting.Privacy;

/// <summary>
/// Keeps a store on one id scheme for its whole life. A pseudonymised store carries a marker document with the key's
/// fingerprint; opening it without that key, or opening a store of raw ids with a key, would split every user in
/// two (old events under one id, new ones under another), so both are refused with what to do instead.
/// </summary>
public static class PseudonymStoreGuard
{
    public const string DocumentKind = "privacy";
    public const string DocumentKey = "pseudonymisation";
    public const string Scheme = "hmac-sha256-128";

    private const string KeyHint = $"{PersonaPrivacyOptions.KeyFileSetting} (or {PersonaPrivacyOptions.KeyEnvironmentVariable})";

    /// <summary>Checks the store against <paramref name="ids"/>; marks an empty store that is opened with a key.</summary>
    /// <exception cref="PseudonymisationException">The store and the configured key do not fit.</exception>
    public static async Task CheckAsync(IPersonaStore store, UserIdProtector ids, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(time);
        var marker = await store.GetDocumentAsync(DocumentKind, DocumentKey, cancellationToken);
        if (marker is not null)
        {
            var stored = ReadFingerprint(marker);
            if (!ids.Enabled)
                throw new PseudonymisationException(
                    $"This data folder stores pseudonymised user ids (keyed HMAC, key fingerprint {stored}) but no pseudonymisation key is configured. " +
                    $"Set {KeyHint} to the key it was made with; without it no stored user can be found by their id.");
            if (!string.Equals(stored, ids.Fingerprint, StringComparison.Ordinal))
                throw new PseudonymisationException(
                    $"The configured pseudonymisation key (fingerprint {ids.Fingerprint}) is not the key this data folder was pseudonymised with (fingerprint {stored}). " +
                    $"Set {KeyHint} to the original key; another key would file every returning user under a new id.");
            return;
        }
        if (!ids.Enabled) return;

        var events = await store.CountEventsAsync(cancellationToken);
        var users = await store.CountUsersAsync(cancellationToken);
        var profiles = await store.CountProfilesAsync(cancellationToken);
        if (events > 0 || users > 0 || profiles > 0)
            throw new PseudonymisationException(
                $"A pseudonymisation key is configured ({KeyHint}), but this data folder already holds raw user ids ({events} events, {users} users, {profiles} profiles). " +
                "Mixing raw and pseudonymised ids would split every user in two. To pseudonymise this data, import it into a new, empty data folder " +
                "with the key configured (e.g. `persona import --data NEW_FOLDER --events ... --users ...`), serve from that folder and delete this one; " +
                "or remove the key setting to keep using this folder as it is.");

        var json = JsonSerializer.Serialize(new Marker(Scheme, ids.Fingerprint!, time.GetUtcNow()), PersonaJson.Options);
        await store.PutDocumentAsync(DocumentKind, DocumentKey, json, cancellationToken);
    }

    /// <summary>Whether the store is marked as pseudonymised.</summary>
    public static async Task<bool> IsPseudonymisedAsync(IPersonaStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return await store.GetDocumentAsync(DocumentKind, DocumentKey, cancellationToken) is not null;
    }

    private static string ReadFingerprint(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<Marker>(json, PersonaJson.Options)?.KeyFingerprint ?? "unknown";
        }
        catch (JsonException)
        {
            return "unreadable";
        }
    }

    /// <summary>The marker document: the scheme and the key's fingerprint, never the key.</summary>
    private sealed record Marker(string Scheme, string KeyFingerprint, DateTimeOffset Since);
}
