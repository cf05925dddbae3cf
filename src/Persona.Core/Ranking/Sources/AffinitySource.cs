using Persona.Abstractions;

namespace Persona.Core.Ranking.Sources;

/// <summary>The user's share of the item's category (level 2 and deeper) plus half the share of its brand, capped at 1; adds no candidates of its own.</summary>
public sealed class AffinitySource : ICandidateSource
{
    public string Name => RecommendationSources.Affinity;

    public void Gather(CandidateRequest request, CandidatePool pool, int slot) { }

    public void Score(CandidateRequest request, CandidatePool pool, int slot)
    {
        if (request.Affinity is not { } affinity) return;
        foreach (var c in pool.All)
        {
            if (!request.Catalog.TryGet(c.ItemId, out var entry)) continue;
            (c.Scores[slot], c.Evidence[slot]) = affinity.Of(entry);
        }
    }

    public Reason? Explain(CandidateRequest request, Candidate candidate, CatalogEntry entry, int slot, bool onlySource) =>
        candidate.Evidence[slot] is Affinity label ? Reasons.MatchesInterest(label.LabelEn, label.LabelZh) : null;
}
