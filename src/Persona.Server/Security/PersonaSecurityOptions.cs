using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Persona.Server.Security;

/// <summary>The scopes an API key can hold; <c>admin</c> implies the others.</summary>
public static class PersonaScopes
{
    public const string Ingest = "ingest";
    public const string Read = "read";
    public const string Admin = "admin";
    public static readonly string[] All = [Ingest, Read, Admin];
}

/// <summary>One API key as configured: a name for the audit log, the SHA-256 of the secret, its scopes.</summary>
public sealed class ApiKeyOptions
{
    public string Name { get; set; } = "";
    /// <summary><c>sha256:</c> followed by 64 hex digits (<c>persona keys new</c> prints one); the secret itself is never stored.</summary>
    public string Hash { get; set; } = "";
    public List<string> Scopes { get; set; } = [];

    public const string HashPrefix = "sha256:";

    public static string HashOf(string secret) =>
        HashPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}

/// <summary>Access control and request limits (<c>Persona:Security</c>).</summary>
public sealed class PersonaSecurityOptions
{
    public const string SectionName = "Persona:Security";

    /// <summary>
    /// Development mode: no key is needed for any endpoint. <c>persona demo</c> turns it on; the server logs a
    /// warning at start and <c>/health</c> reports it. Off by default: without keys the server does not start.
    /// </summary>
    public bool Open { get; set; }

    public List<ApiKeyOptions> Keys { get; set; } = [];

    /// <summary>Sustained requests per second allowed per key (per client address in open mode); 0 turns limiting off.</summary>
    public int RequestsPerSecond { get; set; } = 5_000;

    /// <summary>Requests a key may make at once above the sustained rate.</summary>
    public int Burst { get; set; } = 10_000;

    /// <summary>Largest request body accepted (413 above it): 1,000 events of a few KiB fit well within the default.</summary>
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>A request still running after this long is answered 503.</summary>
    public int RequestTimeoutSeconds { get; set; } = 30;
}

internal sealed class PersonaSecurityOptionsValidator : IValidateOptions<PersonaSecurityOptions>
{
    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    public ValidateOptionsResult Validate(string? name, PersonaSecurityOptions options)
    {
        var errors = new List<string>();
        if (!options.Open && options.Keys.Count == 0)
            errors.Add($"{PersonaSecurityOptions.SectionName}:Keys is empty: add a key (`persona keys new --name NAME --scopes read,ingest`) or set {PersonaSecurityOptions.SectionName}:Open=true for development only.");
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = options.Keys[i];
            var at = $"{PersonaSecurityOptions.SectionName}:Keys:{i}";
            if (string.IsNullOrWhiteSpace(key.Name)) errors.Add($"{at}:Name is required.");
            if (!key.Hash.StartsWith(ApiKeyOptions.HashPrefix, StringComparison.Ordinal) || key.Hash.Length != ApiKeyOptions.HashPrefix.Length + 64
                || key.Hash.AsSpan(ApiKeyOptions.HashPrefix.Length).ContainsAnyExcept(HexDigits))
                errors.Add($"{at}:Hash must be 'sha256:' and 64 hex digits (see `persona keys new`).");
            if (key.Scopes.Count == 0) errors.Add($"{at}:Scopes is empty (use {string.Join(", ", PersonaScopes.All)}).");
            foreach (var scope in key.Scopes.Where(s => !PersonaScopes.All.Contains(s)))
                errors.Add($"{at}:Scopes has unknown scope '{scope}' (use {string.Join(", ", PersonaScopes.All)}).");
        }
        if (options.Keys.Select(k => k.Name).Distinct(StringComparer.Ordinal).Count() != options.Keys.Count)
            errors.Add($"{PersonaSecurityOptions.SectionName}:Keys has two keys with the same name.");
        if (options.RequestsPerSecond < 0) errors.Add($"{PersonaSecurityOptions.SectionName}:RequestsPerSecond must be ≥ 0.");
        if (options.RequestsPerSecond > 0 && options.Burst < 1) errors.Add($"{PersonaSecurityOptions.SectionName}:Burst must be ≥ 1.");
        if (options.MaxRequestBodyBytes < 1024) errors.Add($"{PersonaSecurityOptions.SectionName}:MaxRequestBodyBytes must be ≥ 1024.");
        if (options.RequestTimeoutSeconds < 1) errors.Add($"{PersonaSecurityOptions.SectionName}:RequestTimeoutSeconds must be ≥ 1.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
