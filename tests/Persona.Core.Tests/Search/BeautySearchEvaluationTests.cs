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

    [DatasetFact("amazon-beauty")]
    public async Task AmazonBeauty_WithSequenceModels_TrainsOnePerStepAndFeedsTheSequenceFeature()
    {
        // A small, short training: this checks the wiring; `--with-sequence-model` measures the full protocol.
        var training = new Persona.Core.Models.Sequence.SequenceTrainingOptions { Dimension = 16, Epochs = 1, RefitEpochs = 0 };
        var (report, models) = await SearchEvaluator.AmazonBeautyWithModelAsync(
            SharedDatasets.PathOf("amazon-beauty"), new ProductSearchOptions { Semantic = false }, maxUsers: 1500, trainUsers: 800, seed: 7,
            encoder: null, progress: null, training, sequenceProgress: null, sequenceModels: null, CancellationToken.None);

        Assert.NotNull(models);
        Assert.NotSame(models.ForValidation, models.ForTest);
        Assert.Equal("hybrid + profile + sequence model", report.Rows[^1].Method);
        Assert.True(report.SequenceSeconds > 0);
        Assert.NotEqual(Persona.Core.Search.RerankerWeights.Default.Weights[4], report.Weights!.Weights[4]);
        Assert.InRange(report.Rows[^1].Ndcg10, 0.01, 1);
    }
}
