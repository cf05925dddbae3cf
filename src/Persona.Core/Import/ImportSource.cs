using System.Text;

namespace Persona.Core.Import;

/// <summary>An open input: a text reader over a stream that counts the bytes consumed, for progress bars.</summary>
internal sealed class ImportSource : IDisposable
{
    private readonly CountingStream _stream;

    private ImportSource(Stream stream, string fileName, long totalBytes, bool leaveOpen)
    {
        _stream = new CountingStream(stream, leaveOpen);
        FileName = fileName;
        TotalBytes = totalBytes;
        Reader = new StreamReader(_stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 64 * 1024);
    }

    public string FileName { get; }
    public long TotalBytes { get; }
    public long BytesRead => _stream.BytesRead;
    public StreamReader Reader { get; }

    public static ImportSource Open(string path)
    {
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.Read,
            BufferSize = 0, // the StreamReader buffers
            Options = FileOptions.SequentialScan | FileOptions.Asynchronous,
        });
        return new ImportSource(stream, Path.GetFileName(path), stream.Length, leaveOpen: false);
    }

    public static ImportSource FromStream(Stream stream, string fileName, bool leaveOpen = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var total = stream.CanSeek ? stream.Length - stream.Position : 0;
        return new ImportSource(stream, fileName, total, leaveOpen);
    }

    public ImportProgress Progress(long records, long errors) => new(FileName, BytesRead, TotalBytes, records, errors);

    public void Dispose() => Reader.Dispose();

    /// <summary>Read-only pass-through that counts bytes handed to the reader.</summary>
    private sealed class CountingStream(Stream inner, bool leaveOpen) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !leaveOpen) inner.Dispose();
            base.Dispose(disposing);
        }

        private int Count(int read)
        {
            BytesRead += read;
            return read;
        }
    }
}
