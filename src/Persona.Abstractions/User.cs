namespace Persona.Abstractions;

public sealed record User
{
    public required string Id { get; init; }
    public string? AgeBand { get; init; }
    public string? Gender { get; init; }
    public string? Region { get; init; }
    public DateTimeOffset? SignupAt { get; init; }
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();
    public Consent Consent { get; init; } = new();
}

/// <summary>Consent flags; both default to granted, as most shops collect consent at sign-up.</summary>
public sealed record Consent
{
    /// <summary>Off: no profile is built and results are not personalised.</summary>
    public bool Personalization { get; init; } = true;
    /// <summary>Off: the user is never counted in or exported with an audience.</summary>
    public bool Marketing { get; init; } = true;
}
