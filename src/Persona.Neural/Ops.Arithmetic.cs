using System.Numerics.Tensors;

namespace Persona.Neural;

/// <summary>
/// Differentiable operations. Each records its backward step on the current <see cref="Tape"/> when an input requires
/// gradients; shapes follow NumPy conventions (row-major, broadcasting from the trailing axis).
/// </summary>
public static partial class Ops
{
    private enum BinaryKind
    {
        Add,
        Sub,
        Mul,
        Div,
    }

    /// <summary>a + b with broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b) => Binary(a, b, BinaryKind.Add);

    /// <summary>a − b with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b) => Binary(a, b, BinaryKind.Sub);

    /// <summary>a ⊙ b with broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(a, b, BinaryKind.Mul);

    /// <summary>a / b with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b) => Binary(a, b, BinaryKind.Div);

    /// <summary>s·x.</summary>
    public static Tensor Scale(Tensor x, float s)
    {
        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor((int[])x._shape.Clone(), record);
        TensorPrimitives.Multiply(x.Data, s, y.Data);
        if (record)
        {
            Tape.Record(() => TensorPrimitives.MultiplyAdd(y.Grad, s, x.DenseGrad(), x.DenseGrad()));
        }

        return y;
    }

    /// <summary>x + s.</summary>
    public static Tensor AddScalar(Tensor x, float s)
    {
        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor((int[])x._shape.Clone(), record);
        TensorPrimitives.Add(x.Data, s, y.Data);
        if (record)
        {
            Tape.Record(() => TensorPrimitives.Add(x.DenseGrad(), y.Grad, x.DenseGrad()));
        }

        return y;
    }

    private static Tensor Binary(Tensor a, Tensor b, BinaryKind kind)
    {
        var shape = BroadcastShape(a._shape, b._shape);
        var record = Tape.ShouldRecord(a, b);
        var y = Tape.NewTensor(shape, record);
        var la = Layout.Of(a._shape, shape);
        var lb = Layout.Of(b._shape, shape);
        Combine(kind, a.Data, la, b.Data, lb, y.Data);
        if (!record)
        {
            return y;
        }

        Tape.Record(() =>
        {
            var dy = y.Grad;
            switch (kind)
            {
                case BinaryKind.Add:
                case BinaryKind.Sub:
                    if (a.RequiresGrad)
                    {
                        ReduceIntoGrad(la, dy, a, 1f);
                    }

                    if (b.RequiresGrad)
                    {
                        ReduceIntoGrad(lb, dy, b, kind == BinaryKind.Add ? 1f : -1f);
                    }

                    break;
                case BinaryKind.Mul:
                    WithTemp(dy.Length, tmp =>
                    {
                        if (a.RequiresGrad)
                        {
                            Combine(BinaryKind.Mul, y.Grad, Layout.Same, b.Data, lb, tmp);
                            la.ReduceInto(tmp, a.DenseGrad(), 1f);
                        }

                        if (b.RequiresGrad)
                        {
                            Combine(BinaryKind.Mul, y.Grad, Layout.Same, a.Data, la, tmp);
                            lb.ReduceInto(tmp, b.DenseGrad(), 1f);
                        }
                    });
                    break;
                default:
                    WithTemp(dy.Length, tmp =>
                    {
                        if (a.RequiresGrad)
                        {
                            Combine(BinaryKind.Div, y.Grad, Layout.Same, b.Data, lb, tmp);
                            la.ReduceInto(tmp, a.DenseGrad(), 1f);
                        }

                        if (b.RequiresGrad)
                        {
                            // d(a/b)/db = −(a/b)/b = −y/b
                            TensorPrimitives.Multiply(y.Grad, y.Data, tmp);
                            Combine(BinaryKind.Div, tmp, Layout.Same, b.Data, lb, tmp);
                            lb.ReduceInto(tmp, b.DenseGrad(), -1f);
                        }
                    });
                    break;
            }
        });
        return y;
    }

    // grad(t) += sign · reduce(full); a same-shaped operand's fresh gradient buffer is written instead (no clear, no read).
    private static void ReduceIntoGrad(Layout layout, ReadOnlySpan<float> full, Tensor t, float sign)
    {
        if (layout.Kind == LayoutKind.Same)
        {
            var grad = t.GradForWrite(out var fresh);
            if (fresh)
            {
                TensorPrimitives.Multiply(full, sign, grad);
            }
            else
            {
                TensorPrimitives.MultiplyAdd(full, sign, grad, grad);
            }

            return;
        }

        layout.ReduceInto(full, t.DenseGrad(), sign);
    }

    private static void WithTemp(int length, SpanAction body)
    {
        var pool = Tape.Current?.Pool ?? BufferPool.Shared;
        var tmp = pool.Rent(length);
        try
        {
            body(tmp.AsSpan(0, length));
        }
        finally
        {
            pool.Return(tmp);
        }
    }

    private delegate void SpanAction(Span<float> tmp);

    // dst = x op y, where x and y are laid out over dst's shape by their layouts.
    private static void Combine(BinaryKind kind, ReadOnlySpan<float> x, Layout lx, ReadOnlySpan<float> y, Layout ly, Span<float> dst)
    {
        if (lx.Kind == LayoutKind.Same && ly.Kind == LayoutKind.Same)
        {
            Apply(kind, x, y, dst);
            return;
        }

        if (lx.Kind == LayoutKind.Same && ly.Kind == LayoutKind.Row)
        {
            for (var r = 0; r < dst.Length; r += ly.Width)
            {
                Apply(kind, x.Slice(r, ly.Width), y, dst.Slice(r, ly.Width));
            }

            return;
        }

        if (lx.Kind == LayoutKind.Row && ly.Kind == LayoutKind.Same)
        {
            for (var r = 0; r < dst.Length; r += lx.Width)
            {
                Apply(kind, x, y.Slice(r, lx.Width), dst.Slice(r, lx.Width));
            }

            return;
        }

        for (var i = 0; i < dst.Length; i++)
        {
            var xv = x[lx.Index(i)];
            var yv = y[ly.Index(i)];
            dst[i] = kind switch
            {
                BinaryKind.Add => xv + yv,
                BinaryKind.Sub => xv - yv,
                BinaryKind.Mul => xv * yv,
                _ => xv / yv,
            };
        }
    }

    private static void Apply(BinaryKind kind, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dst)
    {
        switch (kind)
        {
            case BinaryKind.Add:
                TensorPrimitives.Add(x, y, dst);
                break;
            case BinaryKind.Sub:
                TensorPrimitives.Subtract(x, y, dst);
                break;
            case BinaryKind.Mul:
                TensorPrimitives.Multiply(x, y, dst);
                break;
            default:
                TensorPrimitives.Divide(x, y, dst);
                break;
        }
    }

    internal static int[] BroadcastShape(int[] a, int[] b)
    {
        var rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            var db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
            {
                throw new ArgumentException($"Shapes {Tensor.Format(a)} and {Tensor.Format(b)} do not broadcast.");
            }

            shape[i] = da == 1 ? db : da;
        }

        return shape;
    }

    private enum LayoutKind
    {
        Same,
        Row,
        Map,
    }

    /// <summary>How an operand's elements map onto a broadcast result: identical layout, a repeated trailing block, or an index map.</summary>
    private readonly struct Layout
    {
        private readonly int[]? _map;

        private Layout(LayoutKind kind, int width, int[]? map)
        {
            Kind = kind;
            Width = width;
            _map = map;
        }

        public static Layout Same => new(LayoutKind.Same, 0, null);

        public LayoutKind Kind { get; }

        public int Width { get; }

        public static Layout Of(int[] shape, int[] full)
        {
            var size = Tensor.SizeOf(shape);
            var fullSize = Tensor.SizeOf(full);
            if (size == fullSize)
            {
                return Same;
            }

            // Strip leading ones; a trailing match means the operand repeats as a contiguous block.
            var s = 0;
            while (s < shape.Length && shape[s] == 1)
            {
                s++;
            }

            var rest = shape.AsSpan(s);
            if (size > 0 && rest.SequenceEqual(full.AsSpan(full.Length - rest.Length)))
            {
                return new Layout(LayoutKind.Row, size, null);
            }

            var rank = full.Length;
            var strides = new int[rank];
            var stride = 1;
            for (var i = rank - 1; i >= 0; i--)
            {
                var j = i - (rank - shape.Length);
                var d = j >= 0 ? shape[j] : 1;
                strides[i] = d == 1 ? 0 : stride;
                stride *= d;
            }

            var map = new int[fullSize];
            var index = new int[rank];
            var offset = 0;
            for (var i = 0; i < fullSize; i++)
            {
                map[i] = offset;
                for (var ax = rank - 1; ax >= 0; ax--)
                {
                    index[ax]++;
                    offset += strides[ax];
                    if (index[ax] < full[ax])
                    {
                        break;
                    }

                    offset -= strides[ax] * index[ax];
                    index[ax] = 0;
                }
            }

            return new Layout(LayoutKind.Map, 0, map);
        }

        public int Index(int i) => Kind switch
        {
            LayoutKind.Same => i,
            LayoutKind.Row => i % Width,
            _ => _map![i],
        };

        /// <summary>grad += sign·Σ over broadcast copies of <paramref name="full"/>.</summary>
        public void ReduceInto(ReadOnlySpan<float> full, Span<float> grad, float sign)
        {
            switch (Kind)
            {
                case LayoutKind.Same:
                    TensorPrimitives.MultiplyAdd(full, sign, grad, grad);
                    break;
                case LayoutKind.Row:
                    for (var r = 0; r < full.Length; r += Width)
                    {
                        TensorPrimitives.MultiplyAdd(full.Slice(r, Width), sign, grad, grad);
                    }

                    break;
                default:
                    for (var i = 0; i < full.Length; i++)
                    {
                        grad[_map![i]] += sign * full[i];
                    }

                    break;
            }
        }
    }
}
