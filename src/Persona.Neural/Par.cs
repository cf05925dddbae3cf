namespace Persona.Neural;

/// <summary>Row-parallel loops that only fork when the work pays for the fork (≈ 32 K float operations per task).</summary>
internal static class Par
{
    private const long MinWorkPerTask = 1 << 15;

    /// <summary>Runs <paramref name="body"/>(lo, hi) over [0, n) in contiguous ranges.</summary>
    public static void For(int n, long costPerItem, Action<int, int> body)
    {
        var threads = Environment.ProcessorCount;
        var total = n * Math.Max(1, costPerItem);
        if (threads == 1 || n < 2 || total < 2 * MinWorkPerTask)
        {
            body(0, n);
            return;
        }

        var chunks = (int)Math.Min(Math.Min(n, threads * 4L), total / MinWorkPerTask);
        Parallel.For(0, chunks, c => body((int)((long)n * c / chunks), (int)((long)n * (c + 1) / chunks)));
    }

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over [0, length) of an element-wise pass in blocks of 16 K elements (a
    /// multiple of every vector width), in parallel when there are enough of them; <paramref name="costPerElement"/> is
    /// in float operations.
    /// </summary>
    public static void Elementwise(int length, long costPerElement, Action<int, int> body)
    {
        const int Block = 1 << 14;
        For((length + Block - 1) / Block, Block * costPerElement, (lo, hi) =>
            body((int)Math.Min(length, (long)lo * Block), (int)Math.Min(length, (long)hi * Block)));
    }

    /// <summary>
    /// Runs <paramref name="body"/>(chunk, lo, hi) over fixed-size chunks, possibly in parallel. The chunking does not depend
    /// on the core count, so per-chunk partial sums added in chunk order give the same bits on every machine.
    /// </summary>
    public static int Chunks(int n, int chunkSize, long costPerItem, Action<int, int, int> body)
    {
        var chunks = (n + chunkSize - 1) / chunkSize;
        For(chunks, chunkSize * costPerItem, (lo, hi) =>
        {
            for (var c = lo; c < hi; c++)
            {
                body(c, c * chunkSize, Math.Min(n, (c + 1) * chunkSize));
            }
        });
        return chunks;
    }
}
