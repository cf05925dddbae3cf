using JiebaNet.Segmenter;
using Persona.Text;

namespace Persona.Benchmarks.ChineseAnalysis;

/// <summary>
/// One way to turn shop text into index terms. Every variant analyses non-CJK text the product's way
/// (<see cref="TextAnalyzer"/>), so only the treatment of Chinese runs differs between them.
/// </summary>
public sealed record ChineseAnalyzerVariant(string Name, Func<string, List<string>> Analyze)
{
    /// <summary>Today's analyzer: each Han character and each adjacent pair.</summary>
    public static ChineseAnalyzerVariant Ngrams { get; } = new("ngram", TextAnalyzer.Analyze);

    /// <summary>jieba's default (precise) mode, with the HMM for words missing from its dictionary.</summary>
    public static ChineseAnalyzerVariant JiebaDefault(JiebaSegmenter segmenter) =>
        new("jieba", text => WithCjkRuns(text, run => segmenter.Cut(run, cutAll: false, hmm: true)));

    /// <summary>jieba's search mode: the precise words plus the dictionary words of 2 and 3 characters inside longer ones.</summary>
    public static ChineseAnalyzerVariant JiebaSearch(JiebaSegmenter segmenter) =>
        new("jieba-search", text => WithCjkRuns(text, run => segmenter.CutForSearch(run, hmm: true)));

    /// <summary>
    /// Normalises <paramref name="text"/>, hands each CJK run to <paramref name="segment"/> and everything between
    /// the runs to <see cref="TextAnalyzer"/>.
    /// </summary>
    public static List<string> WithCjkRuns(string text, Func<string, IEnumerable<string>> segment)
    {
        var terms = new List<string>();
        if (string.IsNullOrEmpty(text)) return terms;
        var s = TextNormalizer.Normalize(text);
        var i = 0;
        while (i < s.Length)
        {
            var start = i;
            var cjk = TextAnalyzer.IsCjk(s[i]);
            while (i < s.Length && TextAnalyzer.IsCjk(s[i]) == cjk) i++;
            if (cjk)
            {
                foreach (var word in segment(s[start..i]))
                    if (!string.IsNullOrWhiteSpace(word)) terms.Add(word);
            }
            else
            {
                TextAnalyzer.Analyze(s[start..i], terms);
            }
        }
        return terms;
    }

    /// <summary>
    /// A segmenter reading the dictionary that the build copies beside the program (<c>Resources/</c>): set as an absolute
    /// path, since jieba.NET's netstandard build otherwise resolves its default against the working directory.
    /// </summary>
    public static JiebaSegmenter CreateSegmenter()
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "Resources");
        if (!File.Exists(Path.Combine(directory, "dict.txt")))
            throw new FileNotFoundException($"jieba's dictionary is not in {directory}; the build copies it from the jieba.NET package.");
        ConfigManager.ConfigFileBaseDir = directory;
        return new JiebaSegmenter();
    }
}
