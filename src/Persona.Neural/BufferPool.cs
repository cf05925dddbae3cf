using System.Numerics;

namespace Persona.Neural;

/// <summary>
/// Power-of-two bucketed pool of float arrays for tape-owned tensors. <see cref="System.Buffers.ArrayPool{T}.Shared"/>
/// keeps only a handful of arrays per size, while one training step holds hundreds of same-sized activations; without
/// this pool every step would allocate megabytes on the large-object heap. Rented arrays are not cleared.
/// </summary>
public sealed class BufferPool
{
    private const int MinBucketBits = 6;
    private const int Buckets = 31 - MinBucketBits;
    private readonly Stack<float[]>[] _buckets = new Stack<float[]>[Buckets];
    private readonly Lock _gate = new();
    private long _retainedFloats;

    public BufferPool(long maxRetainedBytes = 2L << 30)
    {
        MaxRetainedBytes = maxRetainedBytes;
        for (var i = 0; i < Buckets; i++)
        {
            _buckets[i] = new Stack<float[]>();
        }
    }

    /// <summary>The pool tapes use.</summary>
    public static BufferPool Shared { get; } = new();

    /// <summary>Arrays returned beyond this many bytes are left to the GC.</summary>
    public long MaxRetainedBytes { get; set; }

    public long RetainedBytes => Interlocked.Read(ref _retainedFloats) * sizeof(float);

    /// <summary>An array of at least <paramref name="length"/> floats with unspecified contents.</summary>
    public float[] Rent(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var bucket = BucketOf(length);
        if (bucket >= Buckets)
        {
            return GC.AllocateUninitializedArray<float>(length);
        }

        lock (_gate)
        {
            if (_buckets[bucket].TryPop(out var array))
            {
                _retainedFloats -= array.Length;
                return array;
            }
        }

        return GC.AllocateUninitializedArray<float>(1 << (bucket + MinBucketBits));
    }

    public void Return(float[] array)
    {
        var bucket = BucketOf(array.Length);
        if (bucket >= Buckets || array.Length != 1 << (bucket + MinBucketBits))
        {
            return;
        }

        lock (_gate)
        {
            if ((_retainedFloats + array.Length) * sizeof(float) <= MaxRetainedBytes)
            {
                _buckets[bucket].Push(array);
                _retainedFloats += array.Length;
            }
        }
    }

    /// <summary>Drops every retained array.</summary>
    public void Trim()
    {
        lock (_gate)
        {
            foreach (var b in _buckets)
            {
                b.Clear();
            }

            _retainedFloats = 0;
        }
    }

    private static int BucketOf(int length) =>
        length <= 1 << MinBucketBits ? 0 : (32 - BitOperations.LeadingZeroCount((uint)length - 1)) - MinBucketBits;
}
