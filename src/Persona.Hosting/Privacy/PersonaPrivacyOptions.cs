using System.Text;

namespace Persona.Hosting.Privacy;

/// <summary>
/// The <c>Persona:Privacy</c> section. With a pseudonymisation key configured, user ids are stored as keyed HMACs
/// (<see cref="UserIdProtector"/>); the key lives outside the data folder, so the database alone cannot be linked
/// back to the shop's user ids.
/// </summary>
public sealed class PersonaPrivacyOptions
{
    public const string SectionName = "Persona:Privacy";
    public const string KeyFileSetting = "Persona:Privacy:PseudonymKeyFile";
    public const string KeySetting = "Persona:Privacy:PseudonymKey";
    /// <summary>Environment variable holding the key (base64) when neither setting is given.</summary>
    public const string KeyEnvironmentVariable = "PERSONA_PSEUDONYM_KEY";
    public const int MinKeyBytes = 32;

    /// <summary>File holding the key: base64 text (as <c>persona keys pseudonym</c> writes it) or at least 32 raw bytes.</summary>
    public string? PseudonymKeyFile { get; set; }

    /// <summary>The key itself, base64, e.g. from a secret store; filled from <see cref="KeyEnvironmentVariable"/> when unset.</summary>
    public string? PseudonymKey { get; set; }

    /// <summary>Whether a key is configured (it may still be invalid; see <see cref="TryLoadKey"/>).</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(PseudonymKeyFile) || !string.IsNullOrWhiteSpace(PseudonymKey);

    /// <summary>Takes the key from <see cref="KeyEnvironmentVariable"/> when no setting names one.</summary>
    public void ApplyEnvironment()
    {
        if (Enabled) return;
        var fromEnvironment = Environment.GetEnvironmentVariable(KeyEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment)) PseudonymKey = fromEnvironment;
    }

    /// <summary>Problems with the configured key, each naming the setting; empty when it is usable or none is set.</summary>
    public IReadOnlyList<string> Validate() => TryLoadKey(out _, out var problem) || problem is null ? [] : [problem];

    /// <summary>
    /// Reads the key. False with a null <paramref name="problem"/> when pseudonymisation is off; false with a
    /// problem (naming the setting) when the key is unreadable or shorter than <see cref="MinKeyBytes"/>.
    /// </summary>
    public bool TryLoadKey(out byte[]? key, out string? problem)
    {
        key = null;
        problem = null;
        var hasFile = !string.IsNullOrWhiteSpace(PseudonymKeyFile);
        var hasValue = !string.IsNullOrWhiteSpace(PseudonymKey);
        if (!hasFile && !hasValue) return false;
        if (hasFile && hasValue)
        {
            problem = $"{KeyFileSetting} and {KeySetting} (or {KeyEnvironmentVariable}) are both set; give the key one way only.";
            return false;
        }
        if (hasValue)
        {
            key = DecodeBase64(PseudonymKey!);
            if (key is null) problem = $"{KeySetting} (or {KeyEnvironmentVariable}) is not base64; make a key with `persona keys pseudonym --out FILE`.";
            else if (key.Length < MinKeyBytes) problem = $"{KeySetting} (or {KeyEnvironmentVariable}) decodes to {key.Length} bytes; a pseudonymisation key needs at least {MinKeyBytes}.";
            return problem is null;
        }

        byte[] content;
        try
        {
            content = File.ReadAllBytes(PseudonymKeyFile!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            problem = $"{KeyFileSetting}: cannot read '{PseudonymKeyFile}': {ex.Message}";
            return false;
        }
        // Base64 text when the file parses as such (what `persona keys pseudonym` writes), otherwise raw bytes.
        key = DecodeBase64(Encoding.UTF8.GetString(content)) ?? content;
        if (key.Length < MinKeyBytes)
        {
            problem = $"{KeyFileSetting}: '{PseudonymKeyFile}' holds a {key.Length}-byte key; a pseudonymisation key needs at least {MinKeyBytes} (make one with `persona keys pseudonym --out FILE`).";
            key = null;
            return false;
        }
        return true;
    }

    private static byte[]? DecodeBase64(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0) return null;
        var buffer = new byte[trimmed.Length];
        return Convert.TryFromBase64String(trimmed, buffer, out var written) ? buffer[..written] : null;
    }
}
