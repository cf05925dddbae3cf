namespace Persona.Core.Ranking.Sources;

/// <summary>Popular among shoppers who share the user's attributes (age band, gender, region): each group's best scaled to 1, the strongest group counting.</summary>
public sealed class SegmentSource : ICandidateSource
{
    public string Name => RecommendationSources.Segment;

    public void Gather(CandidateRequest request, CandidatePool pool, int slot)
    {
        if (!request.User.Personalized) return;
        foreach (var segment in request.User.Segments)
        {
            var best = request.Popularity.TopScore(segment.Key);
            if (best <= 0) continue;
            foreach (var hit in request.Popularity.Top(segment.Key, request.PerSource / 2, request.Accept))
            {
                var c = pool.Get(hit.Id);
                var value = Math.Sqrt(Math.Clamp(hit.Score / best, 0, 1));
                if (value <= c.Scores[slot]) continue;
                c.Scores[slot] = value;
                c.Evidence[slot] = segment;
            }
        }
    }

    public Reason? Explain(CandidateRequest request, Candidate candidate, CatalogEntry entry, int slot, bool onlySource) =>
        candidate.Evidence[slot] is UserSegment segment ? Reasons.PopularWithShoppersLikeYou(segment.LabelEn, segment.LabelZh) : null;
}
