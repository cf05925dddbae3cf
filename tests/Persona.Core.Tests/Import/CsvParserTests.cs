using FsCheck;
using FsCheck.Fluent;
using Persona.Core.Import;

namespace Persona.Core.Tests.Import;

public class CsvParserTests
{
    private static List<CsvRow> Parse(string text, int bufferSize = 64 * 1024)
    {
        var parser = new CsvParser(new StringReader(text), bufferSize: bufferSize);
        var rows = new List<CsvRow>();
        while (parser.ReadRow() is { } row) rows.Add(row);
        return rows;
    }

    [Fact]
    public void ReadRow_QuotedFields_DelimitersQuotesAndNewlinesKept()
    {
        var rows = Parse("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\nlast,,\n");

        Assert.Equal(3, rows.Count);
        Assert.Equal(["x, y", "say \"hi\"", "two\nlines"], rows[1].Fields);
        Assert.Equal(["last", "", ""], rows[2].Fields);
        Assert.All(rows, r => Assert.Null(r.Error));
    }

    [Fact]
    public void ReadRow_EmbeddedNewlines_LineNumbersCountPhysicalLines()
    {
        var rows = Parse("h1,h2\r\n1,\"a\r\nb\r\nc\"\r\n\r\n2,x\n3,\"\"\n");

        Assert.Equal([1L, 2L, 6L, 7L], rows.Select(r => r.Line));
        Assert.Equal("a\r\nb\r\nc", rows[1].Fields[1]);
        Assert.Equal(["3", ""], rows[3].Fields);
    }

    [Fact]
    public void ReadRow_BlankLinesAndMissingFinalNewline_Handled()
    {
        var rows = Parse("\n\na,b\n\n\nc,d");

        Assert.Equal(2, rows.Count);
        Assert.Equal(3, rows[0].Line);
        Assert.Equal(6, rows[1].Line);
        Assert.Equal(["c", "d"], rows[1].Fields);
    }

    [Fact]
    public void ReadRow_LoneCarriageReturns_EndRecords()
    {
        var rows = Parse("a,b\rc,d\r");

        Assert.Equal(new[] { "a|b", "c|d" }, rows.Select(r => string.Join("|", r.Fields)));
        Assert.Equal([1L, 2L], rows.Select(r => r.Line));
    }

    [Fact]
    public void ReadRow_TextAfterClosingQuote_ErrorAndNextRowReadable()
    {
        var rows = Parse("\"ab\"c,d\nok,1\n");

        Assert.Equal(2, rows.Count);
        Assert.Contains("after the closing quote", rows[0].Error, StringComparison.Ordinal);
        Assert.Null(rows[1].Error);
        Assert.Equal(2, rows[1].Line);
    }

    [Fact]
    public void ReadRow_UnterminatedQuote_ErrorOnStartingLine()
    {
        var rows = Parse("a,b\n1,\"never closed\n2,3\n");

        Assert.Equal(2, rows.Count);
        Assert.Equal(2, rows[1].Line);
        Assert.Contains("never closed", rows[1].Error, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadRow_QuoteInsideUnquotedField_KeptLiterally()
    {
        var rows = Parse("5\" screen,x\n");

        Assert.Equal(["5\" screen", "x"], rows[0].Fields);
        Assert.Null(rows[0].Error);
    }

    [Fact]
    public async Task ReadRowAsync_TinyBuffer_SameAsWholeBuffer()
    {
        const string text = "id,q\n1,\"a\"\"b\r\nc\"\r\n2,\"x,y\"\n";
        var parser = new CsvParser(new StringReader(text), bufferSize: 1);
        var rows = new List<CsvRow>();
        while (await parser.ReadRowAsync() is { } row) rows.Add(row);

        var expected = Parse(text);
        Assert.Equal(expected.Select(r => (r.Line, string.Join("|", r.Fields))), rows.Select(r => (r.Line, string.Join("|", r.Fields))));
    }

    [Fact]
    public void WriteThenRead_ArbitraryRows_RoundTripWithLineNumbers()
    {
        var cell = Gen.Elements("", "a", " b ", ",", "\"", "\n", "\r\n", "\r", "x\"y", "口红", "z,z").ArrayOf().Select(parts => string.Concat(parts));
        var row = cell.ArrayOf().Where(r => r.Length > 0 && !(r.Length == 1 && r[0].Length == 0));
        var property = Prop.ForAll(row.ArrayOf().ToArbitrary(), rows =>
        {
            var text = new StringWriter();
            var writer = new CsvWriter(text);
            foreach (var r in rows) writer.WriteRow(r);
            var parsed = Parse(text.ToString(), bufferSize: 7);

            if (parsed.Count != rows.Length) return false;
            long line = 1;
            for (var i = 0; i < rows.Length; i++)
            {
                if (parsed[i].Error is not null || parsed[i].Line != line || !parsed[i].Fields.SequenceEqual(rows[i])) return false;
                line += 1 + rows[i].Sum(LineBreaks);
            }
            return true;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), property);
    }

    private static int LineBreaks(string s)
    {
        var count = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\n') count++;
            else if (s[i] == '\r' && (i + 1 == s.Length || s[i + 1] != '\n')) count++;
        }
        return count;
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData(" padded", "\" padded\"")]
    [InlineData(null, "")]
    public void Escape_Values_QuotedOnlyWhenNeeded(string? value, string expected) =>
        Assert.Equal(expected, CsvWriter.Escape(value));
}
