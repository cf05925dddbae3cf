namespace Persona.Neural;

/// <summary>
/// Records operations for reverse-mode differentiation and owns the pooled buffers of the tensors made while it is
/// current (thread-local, nested tapes stack). <c>using var tape = new Tape();</c> … <c>tape.Backward(loss);</c>; disposing
/// returns every activation and intermediate gradient to the pool. <c>new Tape(recordGradients: false)</c> or
/// <see cref="NoGrad"/> runs inference: buffers are still pooled, nothing is recorded.
/// </summary>
public sealed class Tape : IDisposable
{
    [ThreadStatic] private static Tape? _current;
    private readonly Tape? _previous;
    private readonly List<Action> _backward = [];
    private readonly List<(Tensor Tensor, bool OwnsData)> _owned = [];
    private readonly bool _recordGradients;
    private int _noGradDepth;
    private bool _disposed;

    public Tape(bool recordGradients = true, BufferPool? pool = null)
    {
        _recordGradients = recordGradients;
        Pool = pool ?? BufferPool.Shared;
        _previous = _current;
        _current = this;
    }

    /// <summary>The tape of this thread, or null.</summary>
    public static Tape? Current => _current;

    /// <summary>True when operations on tensors that require gradients are being recorded.</summary>
    public bool IsRecording => _recordGradients && _noGradDepth == 0 && !_disposed;

    /// <summary>Number of recorded backward steps.</summary>
    public int RecordedOperations => _backward.Count;

    internal BufferPool Pool { get; }

    /// <summary>Suspends recording on the current tape (if any) until disposed.</summary>
    public static IDisposable NoGrad()
    {
        var tape = _current;
        if (tape is not null)
        {
            tape._noGradDepth++;
        }

        return new NoGradScope(tape);
    }

    /// <summary>Seeds d<paramref name="loss"/>/d<paramref name="loss"/> = 1 and runs the recorded steps backwards, once.</summary>
    public void Backward(Tensor loss)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (loss.Length != 1)
        {
            throw new ArgumentException($"Backward needs a scalar loss; shape is {Tensor.Format(loss._shape)}.", nameof(loss));
        }

        if (!loss.RequiresGrad)
        {
            throw new InvalidOperationException("The loss does not depend on any tensor that requires gradients.");
        }

        loss.DenseGrad()[0] += 1f;
        for (var i = _backward.Count - 1; i >= 0; i--)
        {
            _backward[i]();
        }

        _backward.Clear();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var (tensor, owns) in _owned)
        {
            tensor.Release(Pool, owns);
        }

        _owned.Clear();
        _backward.Clear();
        if (_current == this)
        {
            _current = _previous;
        }
    }

    internal static bool ShouldRecord(Tensor a) => a.RequiresGrad && _current is { IsRecording: true };

    internal static bool ShouldRecord(Tensor a, Tensor b) => (a.RequiresGrad || b.RequiresGrad) && _current is { IsRecording: true };

    internal static bool ShouldRecord(Tensor a, Tensor? b, Tensor? c) =>
        (a.RequiresGrad || b?.RequiresGrad == true || c?.RequiresGrad == true) && _current is { IsRecording: true };

    /// <summary>A result tensor: pooled when a tape is current, otherwise a plain array.</summary>
    internal static Tensor NewTensor(int[] shape, bool requiresGrad, bool zero = false)
    {
        var tape = _current;
        if (tape is null || tape._disposed)
        {
            return new Tensor(new float[Tensor.SizeOf(shape)], shape, requiresGrad);
        }

        var length = Tensor.SizeOf(shape);
        var data = tape.Pool.Rent(length);
        if (zero)
        {
            data.AsSpan(0, length).Clear();
        }

        var t = new Tensor(data, shape, requiresGrad) { Owner = tape };
        tape._owned.Add((t, true));
        return t;
    }

    /// <summary>A tensor sharing <paramref name="source"/>'s buffer under another shape.</summary>
    internal static Tensor View(Tensor source, int[] shape, bool requiresGrad)
    {
        var t = new Tensor(source._data, shape, requiresGrad);
        if (_current is { _disposed: false } tape)
        {
            t.Owner = tape;
            tape._owned.Add((t, false));
        }

        return t;
    }

    /// <summary>Scratch memory that lives until the tape is disposed (saved masks, statistics).</summary>
    internal static float[] Scratch(int length)
    {
        var tape = _current;
        if (tape is null)
        {
            return new float[length];
        }

        var t = NewTensor([length], requiresGrad: false);
        return t._data;
    }

    internal static void Record(Action backward) => _current!._backward.Add(backward);

    private sealed class NoGradScope(Tape? tape) : IDisposable
    {
        private Tape? _tape = tape;

        public void Dispose()
        {
            if (_tape is not null)
            {
                _tape._noGradDepth--;
                _tape = null;
            }
        }
    }
}
