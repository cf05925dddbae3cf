using System.Numerics.Tensors;
using Persona.Core.Models.Sequence;
using Persona.Core.Retrieval;

namespace Persona.Core.Ranking.Sources;

/// <summary>The sequence model: the user's vector (re-encoded from the recent steps on every request) against the item vectors, min–max scaled.</summary>
public sealed class ModelSource : ICandidateSource
{
    public string Name => RecommendationSources.Model;

    public void Gather(CandidateRequest request, CandidatePool pool, int slot)
    {
        var user = request.User;
        if (request.Model is not { } model || !user.Personalized || user.Recent.Count == 0) return;
        var steps = new List<SequenceStep>(user.Recent.Count);
        foreach (var s in user.Recent)
            if (request.Catalog.TryGet(s.ItemId, out var e)) steps.Add(new SequenceStep(e.Item, s.Type, s.Timestamp));
        if (steps.Count == 0 || model.Model.EncodeUser(steps) is not { } userVector || userVector.Length != model.Index.Dimension) return;
        var hits = model.Index.Search(userVector, request.PerSource, request.Accept);
        if (hits.Length > 0)
        {
            var max = hits[0].Score;
            var min = hits[^1].Score;
            foreach (var hit in hits) pool.Get(hit.Id).Scores[slot] = max > min ? (hit.Score - min) / (max - min) : 1;
        }
        foreach (var (anchor, _) in request.Anchors)
            if (model.Index.GetVector(anchor.ItemId) is { } v) request.AnchorVectors[anchor.ItemId] = v;
    }

    /// <summary>Names the recent item most like this one; without one, the next source explains it better (or "your recent activity" when none is left).</summary>
    public Reason? Explain(CandidateRequest request, Candidate candidate, CatalogEntry entry, int slot, bool onlySource)
    {
        var vector = request.Model?.Index.GetVector(candidate.ItemId);
        BehaviorStep? nearest = null;
        var bestCosine = 0f;
        if (vector is not null)
        {
            var recent = request.User.Recent;
            for (var i = recent.Count - 1; i >= 0; i--)
            {
                var step = recent[i];
                if (step.ItemId == candidate.ItemId || !request.AnchorVectors.TryGetValue(step.ItemId, out var av)) continue;
                var cosine = TensorPrimitives.CosineSimilarity(vector, av);
                if (cosine > bestCosine)
                {
                    bestCosine = cosine;
                    nearest = step;
                }
            }
        }
        if (nearest is { } s && request.Catalog.TryGet(s.ItemId, out var anchor)) return Reasons.SimilarToYour(anchor, s.Type);
        return onlySource ? Reasons.FromRecentActivity() : null;
    }
}
