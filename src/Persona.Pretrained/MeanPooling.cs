using System.Numerics.Tensors;

namespace Persona.Pretrained;

/// <summary>sentence-transformers' pooling for all-MiniLM-L6-v2: mean of the token states under the mask, then L2 norm.</summary>
internal static class MeanPooling
{
    /// <summary>hidden (rows, seq, dim) and mask (rows, seq) → output (rows, dim), unit rows (a zero mean stays zero).</summary>
    public static void Pool(ReadOnlySpan<float> hidden, ReadOnlySpan<int> mask, int rows, int seq, int dim, Span<float> output)
    {
        for (int r = 0; r < rows; r++)
        {
            var sum = output.Slice(r * dim, dim);
            sum.Clear();
            int count = 0;
            for (int t = 0; t < seq; t++)
            {
                if (mask[(r * seq) + t] != 0)
                {
                    TensorPrimitives.Add(sum, hidden.Slice(((r * seq) + t) * dim, dim), sum);
                    count++;
                }
            }

            // The mean's 1/count cancels in the normalisation; dividing by the norm alone gives the same unit vector.
            float norm = TensorPrimitives.Norm(sum);
            if (count > 0 && norm > 0f)
            {
                TensorPrimitives.Multiply(sum, 1f / norm, sum);
            }
        }
    }
}
