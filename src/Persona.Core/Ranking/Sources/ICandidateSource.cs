using Persona.Abstractions;
using Persona.Core.Retrieval;

namespace Persona.Core.Ranking.Sources;

/// <summary>
/// One candidate source of the recommendation blend (docs/online-loop.md, section 4): it adds candidates to a request's
/// pool, scores them 0..1, and explains a candidate it placed. Sources are registered by the name results report and
/// strategies weigh (<see cref="CandidateSources"/>); the blend is Σ weight × score. Implementations are stateless
/// apart from the indexes they read: one instance serves concurrent requests.
/// </summary>
public interface ICandidateSource
{
    /// <summary>The name results report in <c>sources</c> and strategies weigh.</summary>
    string Name { get; }

    /// <summary>
    /// First pass: add candidates (and their scores, in <paramref name="slot"/>) to the pool. Called only when the source
    /// weighs more than 0, unless <see cref="AlwaysGathers"/>.
    /// </summary>
    void Gather(CandidateRequest request, CandidatePool pool, int slot);

    /// <summary>Second pass, once every source gathered: score the pool's candidates this source can judge, whichever source added them.</summary>
    void Score(CandidateRequest request, CandidatePool pool, int slot) { }

    /// <summary>Whether <see cref="Gather"/> runs even at weight 0: popularity is the fallback that keeps a list from being empty.</summary>
    bool AlwaysGathers => false;

    /// <summary>Why the candidate is shown, when this source placed it; null to let the next source explain it.</summary>
    Reason? Explain(CandidateRequest request, Candidate candidate, CatalogEntry entry, int slot, bool onlySource) => null;
}

/// <summary>What the sources see of one request.</summary>
public sealed class CandidateRequest
{
    public required UserContext User { get; init; }
    public required RecommendationQuery Query { get; init; }
    public ModelView? Model { get; init; }
    public required ItemCatalog Catalog { get; init; }
    public required ItemPairs Pairs { get; init; }
    public required PopularityIndex Popularity { get; init; }
    public required RecommendationOptions Options { get; init; }
    /// <summary>Items shown.</summary>
    public required int Count { get; init; }
    /// <summary>Candidates each source adds at most.</summary>
    public required int PerSource { get; init; }
    /// <summary>The filters (availability, exclusions, seen, category): a source adds only accepted items.</summary>
    public required Func<string, bool> Accept { get; init; }
    /// <summary>The user's most recent distinct catalog items, newest first, with weight decay^rank (empty when not personalised).</summary>
    public required IReadOnlyList<(BehaviorStep Step, double Weight)> Anchors { get; init; }
    /// <summary>The profile's category and brand shares (null when not personalised or unknown).</summary>
    public AffinityLookup? Affinity { get; init; }
    /// <summary>The model's vectors of the anchors (filled by the model source; read when explaining).</summary>
    public Dictionary<string, float[]> AnchorVectors { get; } = new(StringComparer.Ordinal);
}

/// <summary>A candidate: per registered source its score (0..1) and what it noted to explain it.</summary>
public sealed class Candidate(string itemId, int sources)
{
    public string ItemId { get; } = itemId;
    public double[] Scores { get; } = new double[sources];
    public object?[] Evidence { get; } = new object?[sources];
}

/// <summary>The candidates of one request, by item id; each source writes its own slot.</summary>
public sealed class CandidatePool(int sources)
{
    private readonly Dictionary<string, Candidate> _byId = new(StringComparer.Ordinal);

    public int Count => _byId.Count;

    public IEnumerable<Candidate> All => _byId.Values;

    /// <summary>The candidate for the item, added when new.</summary>
    public Candidate Get(string itemId)
    {
        if (!_byId.TryGetValue(itemId, out var c)) _byId[itemId] = c = new Candidate(itemId, sources);
        return c;
    }

    /// <summary>Divides a slot's scores by their largest, so the best candidate of the source has 1.</summary>
    public void ScaleToMax(int slot)
    {
        var max = 0.0;
        foreach (var c in _byId.Values) max = Math.Max(max, c.Scores[slot]);
        if (max <= 0) return;
        foreach (var c in _byId.Values) c.Scores[slot] /= max;
    }
}
