using Persona.Core.Search;

namespace Persona.Core.Tests.Search;

public sealed class BeautySearchEvaluationTests
{
    [DatasetFact("amazon-beauty")]
    public async Task AmazonBeauty_LexicalSample_ProfileLiftsNdcgByAFifth()
    {
        // Lexical only and 3,000 users keep this short; `persona evaluate --task search` runs the full protocol.
        var report = await SearchEvaluator.AmazonBeautyAsync(
            SharedDatasets.PathOf("amazon-beauty"), new ProductSearchOptions { Semantic = false }, maxUsers: 3000, trainUsers: 1500);

        var bm25 = report.Rows[0];
        var personal = report.Rows[2];
        Assert.Equal(3000, bm25.Queries);
        Assert.InRange(bm25.Ndcg10, 0.045, 0.09);
        Assert.True(report.PersonalLift >= 0.2, report.ToMarkdown());
        Assert.True(personal.Hr10 > bm25.Hr10);
    }
}
