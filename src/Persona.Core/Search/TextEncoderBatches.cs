using System.Diagnostics;
using Persona.Text;

namespace Persona.Core.Search;

/// <summary>Encoding many texts with any <see cref="ITextEncoder"/>: batches that a pretrained encoder runs as one forward each.</summary>
public static class TextEncoderBatches
{
    /// <summary>Encodes <paramref name="texts"/> into <paramref name="output"/> (texts, dim) in batches of 256, reporting progress.</summary>
    public static void EncodeInBatches(this ITextEncoder encoder, IReadOnlyList<string> texts, Span<float> output, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(texts);
        const int Batch = 256;
        var dim = encoder.Dimension;
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        for (var first = 0; first < texts.Count; first += Batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(Batch, texts.Count - first);
            var batch = new string?[count];
            for (var i = 0; i < count; i++) batch[i] = texts[first + i];
            encoder.EncodeBatch(batch, output.Slice(first * dim, count * dim));
            if (progress is not null && clock.Elapsed - lastReport > TimeSpan.FromSeconds(10))
            {
                lastReport = clock.Elapsed;
                progress.Report($"encoded {first + count:N0} of {texts.Count:N0} texts ({(first + count) / clock.Elapsed.TotalSeconds:0} /s)");
            }
        }
    }
}
