using System.Security.Cryptography;
using Persona.Abstractions;

namespace Persona.Core.Audiences;

/// <summary>A candidate member: the profile (null when none is built, e.g. personalisation consent is off) and the user's marketing consent.</summary>
public readonly record struct AudienceCandidate(string UserId, Profile? Profile, bool MarketingConsent);

/// <summary>A count as it may be published: suppressed below k, optionally with Laplace noise.</summary>
public sealed record PublishedCount(long? Count, bool Suppressed, bool Noised, double? Epsilon, int MinCount);

/// <summary>
/// Selects audience members and publishes their count without exposing small groups: users without
/// marketing consent or without a profile are never members; counts below k are withheld.
/// </summary>
public static class AudienceBuilder
{
    /// <summary>Matching user ids, sorted; consent is checked before the rule.</summary>
    public static IReadOnlyList<string> Members(AudienceRule rule, IEnumerable<AudienceCandidate> candidates)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(candidates);
        var members = new List<string>();
        foreach (var c in candidates)
            if (c.MarketingConsent && c.Profile is { } profile && rule.Matches(profile)) members.Add(c.UserId);
        members.Sort(StringComparer.Ordinal);
        return members;
    }

    /// <summary>
    /// With ε: true count + Laplace(1/ε), rounded and clamped at 0, and the suppression test applies to the
    /// noised value (testing the true count would leak it through the suppressed flag). Without ε: the true
    /// count, withheld when below k. <paramref name="random"/> is for tests; by default the noise is drawn
    /// from a cryptographic generator so it cannot be predicted and averaged away.
    /// </summary>
    public static PublishedCount Publish(long trueCount, int minCount, double? epsilon, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trueCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(minCount, 1);
        long value = trueCount;
        if (epsilon is { } e)
        {
            if (e <= 0 || double.IsNaN(e)) throw new ArgumentOutOfRangeException(nameof(epsilon), "ε must be positive.");
            value = Math.Max(0, (long)Math.Round(trueCount + Laplace(1 / e, random)));
        }
        return value < minCount
            ? new PublishedCount(null, true, epsilon is not null, epsilon, minCount)
            : new PublishedCount(value, false, epsilon is not null, epsilon, minCount);
    }

    /// <summary>A Laplace(0, <paramref name="scale"/>) draw by inverting the CDF of a uniform in (−½, ½).</summary>
    public static double Laplace(double scale, Random? random = null)
    {
        double u;
        do u = (random is null ? CryptoUniform() : random.NextDouble()) - 0.5;
        while (u == -0.5);
        return -scale * Math.Sign(u) * Math.Log(1 - 2 * Math.Abs(u));
    }

    private static double CryptoUniform()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        // 53 random bits → a double uniform in [0, 1).
        return (BitConverter.ToUInt64(bytes) >> 11) * (1.0 / (1UL << 53));
    }
}
