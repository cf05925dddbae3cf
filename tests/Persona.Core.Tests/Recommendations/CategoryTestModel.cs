using Persona.Abstractions;
using Persona.Core.Models.Sequence;

namespace Persona.Core.Tests.Recommendations;

/// <summary>
/// A small real sequence model for tests: an item's vector is the one-hot of its leaf category (so a new item with
/// a known category has a vector at once), and the user vector is the recency-weighted sum of the vectors of the
/// steps (0.5 per step of age). Scores are therefore "how much of my recent behaviour is in this category".
/// </summary>
internal sealed class CategoryTestModel(IReadOnlyList<string> leafCategories, string version = "test-category-v1") : ISequenceModel
{
    public string Version => version;

    public int Dimension => leafCategories.Count;

    public int EncodeCalls { get; private set; }

    public float[]? EncodeUser(IReadOnlyList<SequenceStep> steps)
    {
        EncodeCalls++;
        var user = new float[Dimension];
        var known = false;
        var weight = 1f;
        for (var i = steps.Count - 1; i >= 0; i--, weight *= 0.5f)
        {
            if (ItemVector(steps[i].Item) is not { } v) continue;
            known = true;
            for (var d = 0; d < Dimension; d++) user[d] += weight * v[d];
        }
        return known ? user : null;
    }

    public float[]? ItemVector(Item item)
    {
        if (item.CategoryPath.Count == 0) return null;
        var index = -1;
        for (var i = 0; i < leafCategories.Count; i++)
            if (leafCategories[i] == item.CategoryPath[^1]) index = i;
        if (index < 0) return null;
        var vector = new float[Dimension];
        vector[index] = 1;
        return vector;
    }
}
