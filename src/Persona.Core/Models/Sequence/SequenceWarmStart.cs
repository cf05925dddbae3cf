namespace Persona.Core.Models.Sequence;

/// <summary>What a warm start copied from the serving model into a new network.</summary>
/// <param name="Tensors">Parameters copied whole (same name and shape).</param>
/// <param name="Skipped">Parameters left as initialised (absent from the source, or of another shape).</param>
/// <param name="SharedItems">Item-id embedding rows copied (items both vocabularies hold).</param>
/// <param name="SharedAttributes">Attribute embedding rows copied (tokens both vocabularies hold).</param>
public sealed record SequenceWarmStartSummary(int Tensors, int Skipped, int SharedItems, int SharedAttributes);

/// <summary>
/// Starts a new training from the weights of the model in service, so a scheduled retrain refines what already works
/// instead of learning the shop again from noise. The encoder, type, gap, position and norm weights are copied where
/// their shapes match; the item and attribute tables are indexed by vocabularies that differ between runs (new items,
/// new brands), so their rows are copied by id: a row of an id both vocabularies hold takes the old vector, a new id
/// keeps its fresh initialisation.
/// </summary>
public static class SequenceWarmStart
{
    private const string ItemWeights = "item.weight";
    private const string AttributeWeights = "attribute.weight";

    /// <summary>Copies <paramref name="source"/>'s weights into <paramref name="target"/>, whose rows follow <paramref name="targetVocabulary"/>.</summary>
    public static SequenceWarmStartSummary Apply(SequenceNetwork target, SequenceVocabulary targetVocabulary, SequenceModel source)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(targetVocabulary);
        ArgumentNullException.ThrowIfNull(source);
        var from = source.Network.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        int tensors = 0, skipped = 0, items = 0, attributes = 0;
        foreach (var (name, parameter) in target.NamedParameters())
        {
            if (!from.TryGetValue(name, out var old))
            {
                skipped++;
                continue;
            }
            if (name == ItemWeights)
            {
                items = CopyRows(parameter.Data, old.Data, parameter.Shape[^1], old.Shape[^1], targetVocabulary.ItemIds, source.Vocabulary.ItemIndex);
                continue;
            }
            if (name == AttributeWeights)
            {
                var known = source.Vocabulary.AttributeTokens
                    .Select((token, i) => (token, i))
                    .ToDictionary(p => p.token, p => p.i + 1, StringComparer.Ordinal);
                attributes = CopyRows(parameter.Data, old.Data, parameter.Shape[^1], old.Shape[^1], targetVocabulary.AttributeTokens,
                    token => known.GetValueOrDefault(token));
                continue;
            }
            if (!old.Shape.SequenceEqual(parameter.Shape))
            {
                skipped++;
                continue;
            }
            old.Data.CopyTo(parameter.Data);
            tensors++;
        }
        return new SequenceWarmStartSummary(tensors, skipped, items, attributes);
    }

    /// <summary>
    /// Copies row <c>indexOf(id)</c> of <paramref name="source"/> into row <c>k + 1</c> of <paramref name="target"/> for
    /// each id <c>ids[k]</c> the source knows (index &gt; 0; row 0 is padding). Tables of another width copy nothing.
    /// </summary>
    private static int CopyRows(Span<float> target, ReadOnlySpan<float> source, int targetDim, int sourceDim, IReadOnlyList<string> ids, Func<string, int> indexOf)
    {
        if (targetDim != sourceDim) return 0;
        var d = targetDim;
        var copied = 0;
        for (var k = 0; k < ids.Count; k++)
        {
            var row = indexOf(ids[k]);
            if (row <= 0 || (row + 1) * d > source.Length || (k + 2) * d > target.Length) continue;
            source.Slice(row * d, d).CopyTo(target.Slice((k + 1) * d, d));
            copied++;
        }
        return copied;
    }
}
