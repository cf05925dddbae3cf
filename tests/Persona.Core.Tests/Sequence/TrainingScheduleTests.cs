using Persona.Abstractions;
using Persona.Core.Evaluation.NextItem;
using Persona.Core.Models.Sequence;
using static Persona.Core.Tests.Sequence.SequenceTestData;

namespace Persona.Core.Tests.Sequence;

public sealed class TrainingScheduleTests
{
    [Fact]
    public void Train_WithRefit_RunsRefitEpochsAfterEarlyStopping()
    {
        var (events, items) = Chains(users: 80);
        var data = SequenceDataset.Build(events, items);
        var calls = 0;
        var result = SequenceTrainer.Train(data, SmallOptions(epochs: 3) with { RefitEpochs = 2 }, _ => ++calls);
        Assert.Equal(3, result.EpochsRun);
        Assert.Equal(2, result.RefitEpochsRun);
        // The diagnostic runs after every training epoch and every refit epoch, in that order.
        Assert.Equal([1.0, 2, 3, 4, 5], result.DiagnosticByEpoch);
    }

    [Fact]
    public void Train_RefitOnTheValidationStep_BeatsNoRefitOnTest()
    {
        var (events, items) = Chains(users: 160, seed: 11);
        var data = SequenceDataset.Build(events, items);
        var plain = SequenceTrainer.Train(data, SmallOptions(epochs: 4) with { RefitEpochs = 0 });
        var refit = SequenceTrainer.Train(data, SmallOptions(epochs: 4) with { RefitEpochs = 2 });
        var plainTest = NextItemEvaluator.Evaluate(data, new SequenceModelScorer(plain.Model), NextItemSplit.Test).Ndcg(10);
        var refitTest = NextItemEvaluator.Evaluate(data, new SequenceModelScorer(refit.Model), NextItemSplit.Test).Ndcg(10);
        // The same four epochs chose both; the refit also learned each user's newest step, which the test follows.
        Assert.True(refitTest > plainTest, $"refit {refitTest:0.000} vs none {plainTest:0.000}");
    }

    [Fact]
    public void Train_TimeLimit_KeepsAtLeastOneRefitEpoch()
    {
        var (events, items) = Chains(users: 80);
        var data = SequenceDataset.Build(events, items);
        var result = SequenceTrainer.Train(data, SmallOptions(epochs: 50) with { RefitEpochs = 3, TimeLimit = TimeSpan.FromMilliseconds(1) });
        Assert.Equal(1, result.EpochsRun);
        Assert.Equal(1, result.RefitEpochsRun);
    }
}

public sealed class TitleWordTests
{
    [Fact]
    public void TitleWords_LatinAndChinese_WordsAndCharacterPairs()
    {
        Assert.Equal(["nail", "lacquer", "e55"], SequenceVocabulary.TitleWords("Nail Lacquer, e55 - nail"));
        Assert.Equal(["保湿", "湿面", "面霜", "50ml"], SequenceVocabulary.TitleWords("保湿面霜 50ml"));
        Assert.Empty(SequenceVocabulary.TitleWords("a - 1"));
        Assert.Empty(SequenceVocabulary.TitleWords(null));
    }

    [Fact]
    public void Build_TitleWords_OnlySharedWordsBecomeAttributes()
    {
        Item[] catalog =
        [
            new() { Id = "1", Title = "red nail polish", Brand = "OPI" },
            new() { Id = "2", Title = "blue nail polish" },
            new() { Id = "3", Title = "face cream" },
        ];
        var vocabulary = SequenceVocabulary.Build(catalog.Select(i => i.Id), catalog);
        Assert.Contains("w:nail", vocabulary.AttributeTokens);
        Assert.Contains("w:polish", vocabulary.AttributeTokens);
        Assert.DoesNotContain("w:red", vocabulary.AttributeTokens);
        Assert.DoesNotContain("w:cream", vocabulary.AttributeTokens);
        // Brand first, then the shared title words.
        Assert.Equal(["b:opi", "w:nail", "w:polish"], vocabulary.AttributeIndices(catalog[0]).Select(a => vocabulary.AttributeTokens[a - 1]));
        Assert.Empty(vocabulary.AttributeIndices(catalog[2]));
    }

    [Fact]
    public void Build_WordInMostTitles_IsNoAttribute()
    {
        var catalog = Enumerable.Range(0, 20).Select(k => new Item { Id = $"{k}", Title = $"Taobao item {k} {(k < 3 ? "lipstick" : "bag")}" }).ToList();
        var tokens = SequenceVocabulary.Build(catalog.Select(i => i.Id), catalog).AttributeTokens;
        Assert.DoesNotContain("w:taobao", tokens);
        Assert.DoesNotContain("w:bag", tokens);
        Assert.Contains("w:lipstick", tokens);
    }
}

public sealed class DatasetShiftTests
{
    [Fact]
    public void WithoutNewestSteps_One_TestStepBecomesTheValidationStep()
    {
        var (events, items) = Chains(users: 20);
        var data = SequenceDataset.Build(events, items);
        var shifted = data.WithoutNewestSteps(1, minimumSteps: 3);
        Assert.Same(data.Vocabulary, shifted.Vocabulary);
        foreach (var user in shifted.Users)
        {
            var original = data.Users.Single(u => u.UserId == user.UserId);
            Assert.Equal(original.Length - 1, user.Length);
            Assert.Equal(original.Items[SequenceDataset.HistoryLength(original, NextItemSplit.Validation)], user.Items[SequenceDataset.HistoryLength(user, NextItemSplit.Test)]);
        }
        Assert.DoesNotContain(data.WithoutNewestSteps(10, minimumSteps: 3).Users, u => u.Length < 3);
    }
}

public sealed class SoftmaxChoiceTests
{
    [Theory]
    [InlineData(8192, 20_000, 12_101, true)]   // a catalog of Beauty's size: exact softmax
    [InlineData(8192, 20_000, 33_730, false)]  // larger: shared sampled negatives
    [InlineData(0, 20_000, 1_000_000, true)]   // 0 negatives: exact whatever the size
    [InlineData(8192, 0, 5_000, true)]         // fewer items than negatives: exact
    [InlineData(8192, 0, 12_101, false)]
    public void UsesFullSoftmax_BySizeAndNegatives(int negatives, int fullUpTo, int items, bool expected) =>
        Assert.Equal(expected, new SequenceTrainingOptions { SampledNegatives = negatives, FullSoftmaxMaxItems = fullUpTo }.UsesFullSoftmax(items));
}
