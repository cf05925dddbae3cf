using Persona.Abstractions;

namespace Persona.Core.Models.Sequence;

/// <summary>One step of a user's behaviour as the sequence model reads it; the item carries its attributes so new items still encode.</summary>
public readonly record struct SequenceStep(Item Item, EventType Type, DateTimeOffset Timestamp);

/// <summary>
/// A trained next-item model as serving sees it: a user vector from behaviour, an item vector from the item's id or
/// attributes; the score of an item for a user is their dot product.
/// </summary>
public interface ISequenceModel
{
    /// <summary>Version of the stored model, e.g. "seq-20261122T101500Z".</summary>
    string Version { get; }

    /// <summary>Length of user and item vectors.</summary>
    int Dimension { get; }

    /// <summary>
    /// Encodes the user's behaviour, oldest step first (the model keeps its own maximum length, taking the newest),
    /// into a vector of length <see cref="Dimension"/>; null when nothing in the steps is known to the model.
    /// </summary>
    float[]? EncodeUser(IReadOnlyList<SequenceStep> steps);

    /// <summary>
    /// The scoring vector of an item: learned for items seen in training, composed from its attributes (brand,
    /// category path) for new ones; null when neither is known.
    /// </summary>
    float[]? ItemVector(Item item);

    /// <summary>
    /// Cosine of <paramref name="user"/> with the item's vector; null when the item has none. Called per search
    /// candidate, so implementations should avoid copying the vector.
    /// </summary>
    double? Cosine(ReadOnlySpan<float> user, Item item) =>
        ItemVector(item) is { } v && v.Length == user.Length ? Finite(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(user, v)) : null;

    /// <summary>
    /// The item's row in the model's table of learned vectors, for <see cref="RowCosines"/>; -1 when it has none
    /// (a new item, composed from attributes: use <see cref="Cosine"/>). Rows stay valid for this model instance.
    /// </summary>
    int Row(Item item) => -1;

    /// <summary>cosines[i] = cosine of <paramref name="user"/> with row rows[i], for every rows[i] ≥ 0; others are left as they are.</summary>
    void RowCosines(ReadOnlySpan<float> user, ReadOnlySpan<int> rows, Span<double> cosines) { }

    /// <summary>A zero vector's cosine is NaN; it says nothing, so it counts as 0.</summary>
    protected static double Finite(float cosine) => float.IsFinite(cosine) ? cosine : 0;
}

/// <summary>The sequence model currently in service; a new stored version replaces it without a restart.</summary>
public interface ISequenceModelProvider
{
    ISequenceModel? Current { get; }
}
