using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Persona.Hosting.Privacy;

/// <summary>
/// Maps the shop's user ids to the ids the store holds. Off (the default) it is the identity. On, the stored id is a
/// pseudonym, <c>p_</c> followed by the first 128 bits of HMAC-SHA256(key, UTF-8 id) in lowercase hex: stable, so
/// a user's events, profile and model state meet under one id, and unlinkable to the raw id without the key, which
/// is kept outside the database. Nothing raw is cached. Thread-safe.
/// </summary>
public sealed class UserIdProtector
{
    public const string Prefix = "p_";
    /// <summary>Bytes of the HMAC kept: 128 bits make an accidental collision among even 10^12 users negligible.</summary>
    public const int PseudonymBytes = 16;
    public const int PseudonymLength = 2 + 2 * PseudonymBytes;

    private const int StackLimit = 512;
    private static ReadOnlySpan<byte> FingerprintLabel => "persona/pseudonym-key-fingerprint/v1"u8;

    private readonly byte[]? _key;

    /// <summary>Pseudonymisation off: every id is stored as given.</summary>
    public static UserIdProtector Off { get; } = new(null);

    private UserIdProtector(byte[]? key)
    {
        _key = key;
        if (key is not null)
        {
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(key, FingerprintLabel, mac);
            Fingerprint = Convert.ToHexStringLower(mac[..PseudonymBytes]);
        }
    }

    /// <summary>A protector over <paramref name="key"/> (at least <see cref="PersonaPrivacyOptions.MinKeyBytes"/> bytes; copied).</summary>
    public static UserIdProtector WithKey(ReadOnlySpan<byte> key)
    {
        if (key.Length < PersonaPrivacyOptions.MinKeyBytes)
            throw new ArgumentException($"A pseudonymisation key needs at least {PersonaPrivacyOptions.MinKeyBytes} bytes.", nameof(key));
        return new UserIdProtector(key.ToArray());
    }

    /// <summary>The protector the options describe; throws <see cref="PseudonymisationException"/> naming the setting when the key is unusable.</summary>
    public static UserIdProtector Create(PersonaPrivacyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.TryLoadKey(out var key, out var problem)) return new UserIdProtector(key);
        return problem is null ? Off : throw new PseudonymisationException(problem);
    }

    public bool Enabled => _key is not null;

    /// <summary>HMAC of a fixed label under the key (never the key): tells whether two keys are the same. Null when off.</summary>
    public string? Fingerprint { get; }

    /// <summary>The stored id of a raw user id (as ingestion stores it). Identity when off.</summary>
    public string Protect(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (_key is null) return userId;
        var max = Encoding.UTF8.GetMaxByteCount(userId.Length);
        byte[]? rented = null;
        var utf8 = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = Encoding.UTF8.GetBytes(userId, utf8);
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(_key, utf8[..length], mac);
            return Prefix + Convert.ToHexStringLower(mac[..PseudonymBytes]);
        }
        finally
        {
            // The buffer held a raw id; a pooled array must not keep it.
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }
    }

    /// <summary>
    /// The stored id for an id a reader gave: a raw id is protected, a pseudonym (as listed by the API, e.g. the
    /// dashboard's user list or an audience export) is used as it is. Identity when off. Idempotent.
    /// </summary>
    public string ToStored(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        return _key is null || IsPseudonym(userId) ? userId : Protect(userId);
    }

    /// <summary>Whether <paramref name="id"/> has the shape of a pseudonym: <c>p_</c> and 32 lowercase hex digits.</summary>
    public static bool IsPseudonym(ReadOnlySpan<char> id)
    {
        if (id.Length != PseudonymLength || !id.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        foreach (var c in id[Prefix.Length..])
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f'))) return false;
        return true;
    }
}

/// <summary>The pseudonymisation key is unusable or does not fit the data folder; the message says what to change.</summary>
public sealed class PseudonymisationException(string message) : InvalidOperationException(message);
