using Persona.Neural;

namespace Persona.Neural.Tests;

public class TapeTests
{
    [Fact]
    public void Dispose_PooledActivation_CannotBeReadAfterwards()
    {
        var x = Tensor.Variable([1f, 2f, 3f], 3);
        Tensor y;
        using (var tape = new Tape())
        {
            y = Ops.Scale(x, 2f);
            Assert.Equal([2f, 4f, 6f], y.ToArray());
        }

        Assert.ThrowsAny<ArgumentException>(() => y.ToArray());
        Assert.Equal([1f, 2f, 3f], x.ToArray());
    }

    [Fact]
    public void NoGrad_InsideTape_RecordsNothing()
    {
        var x = Tensor.Variable([1f, 2f], 2);
        using var tape = new Tape();
        using (Tape.NoGrad())
        {
            var y = Ops.Sum(Ops.Mul(x, x));
            Assert.False(y.RequiresGrad);
        }

        Assert.Equal(0, tape.RecordedOperations);
        var z = Ops.Sum(Ops.Mul(x, x));
        Assert.True(z.RequiresGrad);
        tape.Backward(z);
        Assert.Equal([2f, 4f], x.Grad.ToArray());
    }

    [Fact]
    public void InferenceTape_PoolsWithoutRecording()
    {
        var x = Tensor.Variable([1f, 2f], 2);
        using var tape = new Tape(recordGradients: false);
        var y = Ops.Relu(x);
        Assert.False(y.RequiresGrad);
        Assert.Equal(0, tape.RecordedOperations);
    }

    [Fact]
    public void Backward_GradientsAccumulateAcrossTapesUntilZeroGrad()
    {
        var x = Tensor.Variable([3f], 1);
        for (var i = 0; i < 2; i++)
        {
            using var tape = new Tape();
            tape.Backward(Ops.Sum(Ops.Mul(x, x)));
        }

        Assert.Equal(12f, x.Grad[0]);
        x.ZeroGrad();
        Assert.Equal(0f, x.Grad[0]);
    }

    [Fact]
    public void Backward_NonScalarLoss_Throws()
    {
        var x = Tensor.Variable([1f, 2f], 2);
        using var tape = new Tape();
        Assert.Throws<ArgumentException>(() => tape.Backward(Ops.Scale(x, 2f)));
    }

    [Fact]
    public void Backward_SharedSubexpression_SumsBothPaths()
    {
        // y = x·x + x  →  dy/dx = 2x + 1
        var x = Tensor.Variable([2f, -1f], 2);
        using var tape = new Tape();
        var y = Ops.Sum((x * x) + x);
        tape.Backward(y);
        Assert.Equal([5f, -1f], x.Grad.ToArray());
    }

    [Fact]
    public void BufferPool_ReturnedArray_IsReused()
    {
        var pool = new BufferPool();
        var a = pool.Rent(1000);
        Assert.Equal(1024, a.Length);
        pool.Return(a);
        Assert.Same(a, pool.Rent(700));
        Assert.Equal(0, pool.RetainedBytes);
    }

    [Fact]
    public void Rng_SameSeed_SameStream_AndNextIntIsInRange()
    {
        var a = new Rng(7);
        var b = new Rng(7);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(a.NextUInt64(), b.NextUInt64());
            var v = a.NextInt(13);
            Assert.InRange(v, 0, 12);
            b.NextInt(13);
        }

        var g = new Rng(3);
        var samples = Enumerable.Range(0, 20000).Select(_ => (double)g.NextGaussian()).ToArray();
        Assert.InRange(samples.Average(), -0.03, 0.03);
        Assert.InRange(samples.Select(s => s * s).Average(), 0.95, 1.05);
    }
}
