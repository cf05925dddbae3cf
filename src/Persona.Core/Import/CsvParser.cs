using System.Text;

namespace Persona.Core.Import;

/// <summary>One CSV record: the 1-based line it starts on, its fields, and a syntax error when it is malformed.</summary>
public sealed record CsvRow(long Line, IReadOnlyList<string> Fields, string? Error);

/// <summary>
/// A streaming RFC 4180 reader: comma-separated fields, fields in double quotes may hold delimiters, line
/// breaks and doubled quotes (<c>""</c>). Records end at CRLF, LF or a lone CR. Blank lines are skipped. Line
/// numbers count physical lines, so a record after a quoted field with embedded line breaks still reports
/// the line it starts on. A quote inside an unquoted field is kept as a literal character (common in the wild).
/// </summary>
public sealed class CsvParser
{
    private enum State { FieldStart, Unquoted, Quoted, QuoteInQuoted }

    private readonly TextReader _reader;
    private readonly char _delimiter;
    private readonly char[] _buffer;
    private readonly List<string> _fields = [];
    private readonly StringBuilder _field = new();
    private int _position;
    private int _length;
    private bool _endOfInput;
    private bool _afterCarriageReturn;
    private long _line = 1;
    private long _rowLine = 1;
    private State _state = State.FieldStart;
    private string? _error;

    public CsvParser(TextReader reader, char delimiter = ',', int bufferSize = 64 * 1024)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (delimiter is '"' or '\r' or '\n') throw new ArgumentException("The delimiter cannot be a quote or a line break.", nameof(delimiter));
        _reader = reader;
        _delimiter = delimiter;
        _buffer = new char[Math.Max(16, bufferSize)];
    }

    /// <summary>The next record, or null at the end of the input.</summary>
    public async ValueTask<CsvRow?> ReadRowAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_position >= _length && !_endOfInput)
            {
                _length = await _reader.ReadAsync(_buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                _position = 0;
                _endOfInput = _length == 0;
            }
            if (_endOfInput) return FinishAtEnd();
            if (Scan()) return TakeRow();
        }
    }

    /// <summary>The next record, or null at the end of the input (blocking reads).</summary>
    public CsvRow? ReadRow()
    {
        while (true)
        {
            if (_position >= _length && !_endOfInput)
            {
                _length = _reader.Read(_buffer, 0, _buffer.Length);
                _position = 0;
                _endOfInput = _length == 0;
            }
            if (_endOfInput) return FinishAtEnd();
            if (Scan()) return TakeRow();
        }
    }

    /// <summary>Consumes buffered characters; true when a record is complete.</summary>
    private bool Scan()
    {
        while (_position < _length)
        {
            var c = _buffer[_position++];
            if (c == '\n' && _afterCarriageReturn)
            {
                // Second half of CRLF: the line was already counted and the record already ended at the CR.
                _afterCarriageReturn = false;
                if (_state == State.Quoted) _field.Append(c);
                continue;
            }
            _afterCarriageReturn = c == '\r';
            var lineBreak = c is '\r' or '\n';

            switch (_state)
            {
                case State.FieldStart:
                    if (c == '"')
                    {
                        _state = State.Quoted;
                    }
                    else if (c == _delimiter)
                    {
                        _fields.Add("");
                    }
                    else if (lineBreak)
                    {
                        _line++;
                        if (_fields.Count == 0)
                        {
                            _rowLine = _line; // blank line
                            break;
                        }
                        _fields.Add("");
                        return true;
                    }
                    else
                    {
                        _field.Append(c);
                        _state = State.Unquoted;
                    }
                    break;

                case State.Unquoted:
                    if (c == _delimiter)
                    {
                        EndField();
                    }
                    else if (lineBreak)
                    {
                        _line++;
                        EndField();
                        return true;
                    }
                    else
                    {
                        _field.Append(c);
                    }
                    break;

                case State.Quoted:
                    if (c == '"')
                    {
                        _state = State.QuoteInQuoted;
                    }
                    else
                    {
                        if (lineBreak) _line++;
                        _field.Append(c);
                    }
                    break;

                case State.QuoteInQuoted:
                    if (c == '"')
                    {
                        _field.Append('"');
                        _state = State.Quoted;
                    }
                    else if (c == _delimiter)
                    {
                        EndField();
                    }
                    else if (lineBreak)
                    {
                        _line++;
                        EndField();
                        return true;
                    }
                    else
                    {
                        _error ??= $"unexpected character '{c}' after the closing quote of field {_fields.Count + 1}";
                        _field.Append(c);
                        _state = State.Unquoted;
                    }
                    break;
            }
        }
        return false;
    }

    private CsvRow? FinishAtEnd()
    {
        switch (_state)
        {
            case State.FieldStart when _fields.Count == 0:
                return null;
            case State.FieldStart:
                _fields.Add("");
                break;
            case State.Quoted:
                _error ??= $"field {_fields.Count + 1} opens a quote that is never closed";
                EndField();
                break;
            default:
                EndField();
                break;
        }
        return TakeRow();
    }

    private void EndField()
    {
        _fields.Add(_field.ToString());
        _field.Clear();
        _state = State.FieldStart;
    }

    private CsvRow TakeRow()
    {
        var row = new CsvRow(_rowLine, [.. _fields], _error);
        _fields.Clear();
        _field.Clear();
        _error = null;
        _state = State.FieldStart;
        _rowLine = _line;
        return row;
    }
}
