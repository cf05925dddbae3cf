using System.Numerics.Tensors;
using Persona.Neural;

namespace Persona.Core.Models.Sequence;

/// <summary>
/// Starts the item table from what the items' text says (the text encoder's vectors), so items with few interactions,
/// whose rows training barely moves, sit near items described alike instead of at random. The vectors are centred (the
/// direction all catalog texts share says nothing about any one item), projected to the model's width by a seeded
/// Gaussian map, which keeps their angles on average, and scaled to the norm of a randomly initialised row.
/// </summary>
public static class SequenceTextInit
{
    /// <summary>
    /// Overwrites the item-id embedding row of every item of <paramref name="vocabulary"/> that
    /// <paramref name="textVector"/> gives a vector for (all of one length); returns how many rows it set.
    /// </summary>
    public static int Apply(SequenceNetwork network, SequenceVocabulary vocabulary, Func<string, float[]?> textVector, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(textVector);
        var rows = new List<(int Row, float[] Vector)>();
        var width = -1;
        for (var k = 0; k < vocabulary.ItemCount; k++)
        {
            if (textVector(vocabulary.ItemIds[k]) is not { Length: > 0 } v) continue;
            if (width < 0) width = v.Length;
            if (v.Length != width) throw new ArgumentException($"Text vectors of {width} and {v.Length} values: one encoder must make them all.", nameof(textVector));
            rows.Add((k + 1, v));
        }
        if (rows.Count < 2) return 0;

        var d = network.Config.Dimension;
        var mean = new float[width];
        foreach (var (_, v) in rows) TensorPrimitives.Add(mean, v, mean);
        TensorPrimitives.Divide(mean, rows.Count, mean);

        var projection = new float[width * d]; // (width, d)
        new Rng(seed).FillNormal(projection, 0f, 1f);
        var table = network.Items.Weight.Data; // (items + 1, d)
        var rowNorm = RandomRowNorm(table, d);
        var centred = new float[width];
        var projected = new float[d];
        foreach (var (row, v) in rows)
        {
            TensorPrimitives.Subtract(v, mean, centred);
            projected.AsSpan().Clear();
            for (var i = 0; i < width; i++)
                if (centred[i] != 0) TensorPrimitives.MultiplyAdd(projection.AsSpan(i * d, d), centred[i], projected, projected);
            var norm = TensorPrimitives.Norm(projected);
            if (!(norm > 0)) continue;
            TensorPrimitives.Multiply(projected, rowNorm / norm, table.Slice(row * d, d));
        }
        return rows.Count;
    }

    /// <summary>The mean norm of the table's rows as initialised (row 0, padding, left out).</summary>
    private static float RandomRowNorm(Span<float> table, int d)
    {
        var count = table.Length / d;
        var sum = 0.0;
        for (var r = 1; r < count; r++) sum += TensorPrimitives.Norm(table.Slice(r * d, d));
        return count > 1 ? (float)(sum / (count - 1)) : 1f;
    }
}
