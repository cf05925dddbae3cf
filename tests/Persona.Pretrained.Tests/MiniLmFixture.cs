using Persona.Text;

namespace Persona.Pretrained.Tests;

/// <summary>The packaged MiniLM opened once per test class on both engines (each load reads a 90 MB model).</summary>
public sealed class MiniLmFixture : IDisposable
{
    public MiniLmFixture()
    {
        OnnxRuntime = PretrainedEncoders.Open(PretrainedEncoders.MiniLm, new PretrainedEncoderOptions { Threads = 2 });
        Own = PretrainedEncoders.Open(
            PretrainedEncoders.MiniLm, new PretrainedEncoderOptions { Engine = PretrainedEngine.Own, Threads = 2 });
    }

    public ITextEncoder OnnxRuntime { get; }

    public ITextEncoder Own { get; }

    public void Dispose() => (OnnxRuntime as IDisposable)?.Dispose();
}
