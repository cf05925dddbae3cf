using System.Text;

namespace Persona.Neural;

/// <summary>
/// A float32 row-major tensor. Tensors made by operations inside a <see cref="Tape"/> live in pooled buffers that the
/// tape takes back when it is disposed (reading one afterwards throws); parameters and tensors made outside a tape own
/// ordinary arrays. A gradient buffer is allocated on first use. Embedding lookups write gradient rows sparsely, so an
/// optimiser can update only the rows a step touched (<see cref="TouchedRows"/>).
/// </summary>
public sealed class Tensor
{
    internal float[] _data;
    internal float[]? _grad;
    internal readonly int[] _shape;
    private bool _denseGrad;
    private bool[]? _rowMarks;
    private List<int>? _rows;

    internal Tensor(float[] data, int[] shape, bool requiresGrad, bool isParameter = false)
    {
        _shape = shape;
        Length = SizeOf(shape);
        if (data.Length < Length)
        {
            throw new ArgumentException($"Buffer of {data.Length} floats is too small for shape {Format(shape)}.");
        }

        _data = data;
        RequiresGrad = requiresGrad;
        IsParameter = isParameter;
    }

    /// <summary>Dimensions, outermost first; a scalar has none.</summary>
    public IReadOnlyList<int> Shape => _shape;

    public int Rank => _shape.Length;

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>True when gradients flow into this tensor.</summary>
    public bool RequiresGrad { get; }

    /// <summary>True for trainable parameters (long-lived, never pooled).</summary>
    public bool IsParameter { get; }

    /// <summary>Optional name, set by modules for their parameters.</summary>
    public string? Name { get; set; }

    /// <summary>The values.</summary>
    public Span<float> Data => _data.AsSpan(0, Length);

    /// <summary>True once a gradient buffer exists.</summary>
    public bool HasGrad => _grad is not null;

    /// <summary>
    /// The gradient (allocated, zeroed, on first use). Access through this property counts as a dense write, so
    /// optimisers then update every row; operations and optimisers read it through <see cref="GradView"/>.
    /// </summary>
    public Span<float> Grad => DenseGrad();

    /// <summary>The gradient without marking it dense (for readers that do not write it).</summary>
    internal Span<float> GradView => EnsureGrad().AsSpan(0, Length);

    /// <summary>
    /// When only embedding lookups wrote the gradient since the last <see cref="ZeroGrad"/>: the rows they touched
    /// (first axis). Null when the gradient is dense or empty.
    /// </summary>
    public IReadOnlyList<int>? TouchedRows => _denseGrad || _rows is null ? null : _rows;

    /// <summary>True when some operation wrote the gradient densely.</summary>
    public bool HasDenseGrad => _denseGrad;

    /// <summary>Size of axis <paramref name="axis"/> (negative counts from the end).</summary>
    public int Dim(int axis) => _shape[NormalizeAxis(axis, Rank)];

    public float this[params int[] index]
    {
        get => Data[Offset(index)];
        set => Data[Offset(index)] = value;
    }

    /// <summary>A scalar tensor's value.</summary>
    public float ToScalar() => Length == 1 ? Data[0] : throw new InvalidOperationException($"ToScalar() needs one element; shape is {Format(_shape)}.");

    public float[] ToArray() => Data.ToArray();

    /// <summary>A new tensor owning a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(ReadOnlySpan<float> data, params int[] shape)
    {
        var t = new Tensor(new float[SizeOf(shape)], (int[])shape.Clone(), requiresGrad: false);
        data.CopyTo(t.Data);
        return t;
    }

    /// <summary>A tensor over <paramref name="data"/> without copying.</summary>
    public static Tensor Wrap(float[] data, params int[] shape) => new(data, (int[])shape.Clone(), requiresGrad: false);

    public static Tensor Zeros(params int[] shape) => new(new float[SizeOf(shape)], (int[])shape.Clone(), requiresGrad: false);

    public static Tensor Scalar(float value) => new([value], [], requiresGrad: false);

    /// <summary>A zero-initialised trainable parameter.</summary>
    public static Tensor Parameter(params int[] shape) => new(new float[SizeOf(shape)], (int[])shape.Clone(), requiresGrad: true, isParameter: true);

    /// <summary>A tensor whose gradient is tracked, over a copy of <paramref name="data"/> (leaf input for gradient checks).</summary>
    public static Tensor Variable(ReadOnlySpan<float> data, params int[] shape)
    {
        var t = new Tensor(new float[SizeOf(shape)], (int[])shape.Clone(), requiresGrad: true, isParameter: true);
        data.CopyTo(t.Data);
        return t;
    }

    /// <summary>Clears the gradient (only the touched rows when it is sparse).</summary>
    public void ZeroGrad()
    {
        if (_grad is null)
        {
            return;
        }

        if (_denseGrad || _rows is null)
        {
            _grad.AsSpan(0, Length).Clear();
            if (_rowMarks is not null)
            {
                Array.Clear(_rowMarks);
            }
        }
        else
        {
            var width = RowWidth;
            foreach (var r in _rows)
            {
                _grad.AsSpan(r * width, width).Clear();
                _rowMarks![r] = false;
            }
        }

        _rows?.Clear();
        _denseGrad = false;
    }

    public override string ToString()
    {
        var sb = new StringBuilder("Tensor").Append(Format(_shape));
        if (_data.Length >= Length && Length <= 8)
        {
            sb.Append(" [").AppendJoin(", ", Data.ToArray()).Append(']');
        }

        return sb.ToString();
    }

    internal int RowWidth => Rank == 0 || _shape[0] == 0 ? Length : Length / _shape[0];

    /// <summary>The gradient for dense accumulation.</summary>
    internal Span<float> DenseGrad()
    {
        _denseGrad = true;
        return GradView;
    }

    /// <summary>
    /// The gradient for an operation that writes every element. When no buffer exists yet, a tape tensor gets one
    /// without clearing it and <paramref name="fresh"/> is true: the caller must then overwrite (not add to) all of it,
    /// which saves the clear and a read of the buffer. Otherwise the existing (or zeroed) buffer, to accumulate into.
    /// </summary>
    internal Span<float> GradForWrite(out bool fresh)
    {
        _denseGrad = true;
        fresh = _grad is null && Owner is not null && !IsParameter;
        if (fresh)
        {
            _grad = Owner!.Pool.Rent(Length);
        }

        return GradView;
    }

    /// <summary>One gradient row (first axis) for sparse accumulation; remembers the row for the optimiser.</summary>
    internal Span<float> SparseGradRow(int row)
    {
        var width = RowWidth;
        var grad = EnsureGrad();
        if (!_denseGrad)
        {
            _rowMarks ??= new bool[_shape[0]];
            _rows ??= [];
            if (!_rowMarks[row])
            {
                _rowMarks[row] = true;
                _rows.Add(row);
            }
        }

        return grad.AsSpan(row * width, width);
    }

    internal void Release(BufferPool pool, bool ownsData)
    {
        if (ownsData && _data.Length > 0)
        {
            pool.Return(_data);
        }

        if (_grad is not null)
        {
            pool.Return(_grad);
        }

        _data = [];
        _grad = null;
    }

    internal Tape? Owner { get; set; }

    private float[] EnsureGrad()
    {
        if (_grad is null)
        {
            if (Owner is { } tape && !IsParameter)
            {
                _grad = tape.Pool.Rent(Length);
                _grad.AsSpan(0, Length).Clear();
            }
            else
            {
                _grad = new float[Length];
            }
        }

        return _grad;
    }

    private int Offset(int[] index)
    {
        if (index.Length != Rank)
        {
            throw new ArgumentException($"Index of rank {index.Length} for a tensor of rank {Rank}.");
        }

        var offset = 0;
        for (var i = 0; i < Rank; i++)
        {
            if ((uint)index[i] >= (uint)_shape[i])
            {
                throw new IndexOutOfRangeException($"Index {index[i]} on axis {i} of size {_shape[i]}.");
            }

            offset = (offset * _shape[i]) + index[i];
        }

        return offset;
    }

    internal static int SizeOf(ReadOnlySpan<int> shape)
    {
        long size = 1;
        foreach (var d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d);
            size *= d;
        }

        return size <= Array.MaxLength ? (int)size : throw new ArgumentException($"Shape {Format(shape)} is too large.");
    }

    internal static int NormalizeAxis(int axis, int rank)
    {
        var a = axis < 0 ? axis + rank : axis;
        return (uint)a < (uint)rank ? a : throw new ArgumentOutOfRangeException(nameof(axis), $"Axis {axis} for rank {rank}.");
    }

    internal static string Format(ReadOnlySpan<int> shape) => "(" + string.Join(", ", shape.ToArray()) + ")";

    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);

    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);

    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);

    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);

    public static Tensor operator *(Tensor a, float s) => Ops.Scale(a, s);

    public static Tensor operator -(Tensor a) => Ops.Scale(a, -1f);
}
