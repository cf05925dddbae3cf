using System.Diagnostics.CodeAnalysis;

namespace Persona.Core.Import;

/// <summary>A parsed record and where it came from (1-based line where the record starts).</summary>
public sealed record ImportRecord<T>(T Value, string File, long Line);

/// <summary>Why a line could not be read: the file, the 1-based line, the field (column or JSON property) and what was wrong.</summary>
public sealed record ImportError(string File, long Line, string Field, string Message)
{
    /// <summary>Used as <see cref="Field"/> when the whole row is wrong (column count, unreadable JSON).</summary>
    public const string RowField = "(row)";

    /// <summary>events.csv line 17, field `timestamp`: '2024-13-01' is not a date.</summary>
    public override string ToString() => $"{File} line {Line}, field `{Field}`: {Message}";
}

/// <summary>Either a record or an error; importers yield one record, or one or more errors, per source line.</summary>
public sealed class ImportResult<T>
{
    private ImportResult(ImportRecord<T>? record, ImportError? error)
    {
        Record = record;
        Error = error;
    }

    public ImportRecord<T>? Record { get; }
    public ImportError? Error { get; }

    [MemberNotNullWhen(true, nameof(Record))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Record is not null;

    public static ImportResult<T> Success(T value, string file, long line) => new(new ImportRecord<T>(value, file, line), null);

    public static ImportResult<T> Failure(ImportError error) => new(null, error);

    public override string ToString() => IsSuccess ? $"{Record.File} line {Record.Line}: {Record.Value}" : Error.ToString();
}

/// <summary>How far an import has got: bytes read of the file's total, records and errors so far.</summary>
public sealed record ImportProgress(string File, long BytesRead, long TotalBytes, long Records, long Errors)
{
    /// <summary>0..1, or 0 when the size is unknown.</summary>
    public double Fraction => TotalBytes > 0 ? Math.Clamp((double)BytesRead / TotalBytes, 0, 1) : 0;
}
