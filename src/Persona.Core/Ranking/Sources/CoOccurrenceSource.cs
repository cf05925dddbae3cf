namespace Persona.Core.Ranking.Sources;

/// <summary>
/// "Next item" co-occurrence: what tends to follow the user's recent distinct items, Σ over anchors of
/// decay^rank · P(item | anchor), scaled by the best; notes the anchor that contributed most.
/// </summary>
public sealed class CoOccurrenceSource : ICandidateSource
{
    public string Name => RecommendationSources.CoOccurrence;

    public void Gather(CandidateRequest request, CandidatePool pool, int slot)
    {
        var shown = request.Count * request.Options.MmrPoolFactor;
        var pairs = request.Pairs;
        foreach (var (anchor, weight) in request.Anchors)
        {
            var total = pairs.Total(anchor.ItemId);
            if (total == 0) continue;
            // Older anchors count less, so fewer of their followers can reach the shown part of the blend.
            foreach (var f in pairs.Followers(anchor.ItemId, Math.Min(request.PerSource, Math.Max(10, (int)(2 * shown * weight))), request.Accept))
            {
                var value = weight * f.Score / total;
                var c = pool.Get(f.Id);
                c.Scores[slot] += value;
                if (c.Evidence[slot] is not AnchorNote note || value > note.Value) c.Evidence[slot] = new AnchorNote(anchor.ItemId, value);
            }
        }
        pool.ScaleToMax(slot);
    }

    public Reason? Explain(CandidateRequest request, Candidate candidate, CatalogEntry entry, int slot, bool onlySource) =>
        candidate.Evidence[slot] is AnchorNote note && request.Catalog.TryGet(note.ItemId, out var anchor) ? Reasons.OftenBoughtAfter(anchor) : null;

    private sealed record AnchorNote(string ItemId, double Value);
}
