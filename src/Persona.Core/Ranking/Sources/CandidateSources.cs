namespace Persona.Core.Ranking.Sources;

/// <summary>
/// The registry of recommendation candidate sources, in the order they gather (and break ties in <c>sources</c>). A
/// strategy weighs them by name (<see cref="SourceWeights"/>); a source of a shop's own is added with <see cref="With"/>.
/// </summary>
public sealed class CandidateSources
{
    private readonly ICandidateSource[] _sources;

    public CandidateSources(IEnumerable<ICandidateSource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        _sources = [.. sources];
        var duplicate = _sources.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Two candidate sources are named '{duplicate.Key}'.", nameof(sources));
    }

    /// <summary>Model, item pairs, affinity, popularity and segment.</summary>
    public static CandidateSources Default { get; } = new([new ModelSource(), new CoOccurrenceSource(), new AffinitySource(), new PopularitySource(), new SegmentSource()]);

    public IReadOnlyList<ICandidateSource> All => _sources;

    public int Count => _sources.Length;

    /// <summary>A registry with one more source (last in order).</summary>
    public CandidateSources With(ICandidateSource source) => new([.. _sources, source]);
}
