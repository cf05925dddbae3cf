using Persona.Abstractions;
using Persona.Core.Evaluation.NextItem;
using Persona.Core.Models.Sequence;
using static Persona.Core.Tests.Sequence.SequenceTestData;

namespace Persona.Core.Tests.Sequence;

/// <summary>The next-item harness's readers, on fixture files the tests write (not the shared data sets).</summary>
public sealed class NextItemSourcesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("persona-nextitem-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_root, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static string[] Items(SequenceDataset data, string userId) =>
        data.Users.Single(u => u.UserId == userId).Items.Select(data.Vocabulary.ItemId).ToArray();

    [Fact]
    public async Task SequenceFile_TwoDataSetsInOneFolder_ReadsOnlyItsOwnAttributes()
    {
        Write("Alpha.txt", "1 10 11 12");
        Write("Alpha_item2attributes.json", """{"10": [1], "11": [1], "12": [2]}""");
        var beta = Write("Beta.txt", "1 20 21 22");
        Write("Beta_item2attributes.json", """{"20": [7, 8], "21": [9], "22": [9]}""");

        var read = await SequenceFileReader.ReadAsync(beta);

        Assert.Equal(new[] { "20", "21", "22" }, read.Items.Select(i => i.Id).Order(StringComparer.Ordinal));
        Assert.Contains("attributes: Beta_item2attributes.json, 3 items", read.Source, StringComparison.Ordinal);
        var (data, _) = NextItemBenchmark.Prepare(read);
        Assert.Equal(new[] { "a:7", "a:8", "a:9" }, data.Vocabulary.AttributeTokens);
    }

    [Fact]
    public async Task SequenceFile_OnlyAnotherDataSetsAttributes_SaysNoneWereLoaded()
    {
        Write("Alpha_item2attributes.json", """{"10": [1]}""");
        var file = Write("Gamma.txt", "1 10 11 12");

        var read = await SequenceFileReader.ReadAsync(file);

        Assert.Empty(read.Items);
        Assert.Contains("no attributes file Gamma_item2attributes.json beside Gamma.txt", read.Source, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SequenceFile_FolderWithOneFile_ReadsIt()
    {
        Write("one/Toys.txt", "1 10 11 12", "2 10 12 13");

        var read = await NextItemSources.For("toys").ReadAsync(Path.Combine(_root, "one"));

        Assert.StartsWith("Toys.txt: 2 users, 6 interactions", read.Source, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SequenceFile_FolderWithSeveralFiles_ErrorListsThem()
    {
        Write("two/Sports.txt", "1 10 11 12");
        Write("two/Toys.txt", "1 10 11 12");

        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => SequenceFileReader.ReadAsync(Path.Combine(_root, "two")));

        Assert.Contains("Sports.txt, Toys.txt", error.Message, StringComparison.Ordinal);
        Assert.Contains("--path FILE", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SequenceFile_RepeatedLastItem_StaysTheTestItem()
    {
        var file = Write("Repeat.txt", "u1 10 11 12 12", "u2 10 10 11");

        var (data, _) = NextItemBenchmark.Prepare(await SequenceFileReader.ReadAsync(file));

        var user = data.Users.Single(u => u.UserId == "u1");
        Assert.Equal(new[] { "10", "11", "12", "12" }, Items(data, "u1"));
        Assert.Equal("12", data.Vocabulary.ItemId(user.Items[SequenceDataset.HistoryLength(user, NextItemSplit.Test)]));
        Assert.Equal(new[] { "10", "10", "11" }, Items(data, "u2"));
    }

    [Fact]
    public void Prepare_UsersUnderThreeSteps_LeftOutWithTheirItems()
    {
        var read = new NextItemData(
            [Event("u1", "A", 0, sequence: 1), Event("u1", "B", 1, sequence: 2), Event("u1", "C", 2, sequence: 3),
             Event("u2", "A", 0, sequence: 4), Event("u2", "D", 1, sequence: 5)],
            [new Item { Id = "D", Brand = "Only-u2" }, new Item { Id = "A", Brand = "Acme" }],
            new SequenceDataOptions(), "fixture");

        var (data, usersRead) = NextItemBenchmark.Prepare(read);

        Assert.Equal(2, usersRead);
        Assert.Equal("u1", Assert.Single(data.Users).UserId);
        Assert.Equal(new[] { "A", "B", "C" }, data.Vocabulary.ItemIds);
        Assert.Equal(new[] { "b:acme" }, data.Vocabulary.AttributeTokens);
    }

    [Fact]
    public async Task Taobao_UserSequences_TimeOrderedTypedWithCategories()
    {
        Write("tb/UserBehavior_small.csv", "9,100,7,pv,1511658000");
        Write("tb/UserBehavior_slice.csv",
            "1,200,50,buy,1511658300",
            "1,100,40,pv,1511658000",
            "1,100,40,cart,1511658100", // the same item again: merges into one step, typed add_to_cart
            "1,300,50,fav,1511658200",
            "2,100,40,pv,1511658000",
            "2,300,50,pv,1511658100",
            "3,400,60,pv,1511658000"); // one step: left out

        var read = await NextItemSources.For("taobao-userbehavior").ReadAsync(Path.Combine(_root, "tb"));
        var (data, usersRead) = NextItemBenchmark.Prepare(read);

        Assert.Contains("UserBehavior_slice.csv (the largest of 2 CSV files; left out: UserBehavior_small.csv)", read.Source, StringComparison.Ordinal);
        Assert.Equal(3, usersRead);
        var user = Assert.Single(data.Users);
        Assert.Equal(new[] { "100", "300", "200" }, Items(data, "1"));
        Assert.Equal(new[] { EventType.AddToCart, EventType.Favorite, EventType.Purchase }, user.Types.Select(t => (EventType)(t - 1)));
        Assert.Equal(new[] { "c1:cat-40", "c1:cat-50" }, data.Vocabulary.AttributeTokens);
        Assert.Equal(new[] { "100", "200", "300" }, data.Vocabulary.ItemIds);
    }

    [Fact]
    public async Task Yoochoose_TrainFullAndTest_ConcatenatedSessionsInTimeOrder()
    {
        Write("yc/clicks_train_full.txt", "SessionId\tItemId\tTime",
            "1\t11\t1396437466.5", "1\t10\t1396437400.0", "1\t12\t1396437500.0", "1\t12\t1396437510.0",
            "2\t10\t1396437400.0", "2\t11\t1396437401.0");
        Write("yc/clicks_test.txt", "SessionId\tItemId\tTime",
            "3\t12\t1396831800.0", "3\t10\t1396831801.0", "3\t11\t1396831802.0");
        Write("yc/clicks_train_tr.txt", "SessionId\tItemId\tTime", "1\t99\t1396437400.0"); // a split of train_full: not read

        var read = await NextItemSources.For("yoochoose-100k").ReadAsync(Path.Combine(_root, "yc"));
        var (data, usersRead) = NextItemBenchmark.Prepare(read);

        Assert.StartsWith("clicks_train_full.txt + clicks_test.txt: 9 clicks of 3 sessions", read.Source, StringComparison.Ordinal);
        Assert.Equal(3, usersRead);
        Assert.Equal(new[] { "10", "11", "12" }, Items(data, "1")); // back-to-back 12, 12 merged
        Assert.Equal(new[] { "12", "10", "11" }, Items(data, "3"));
        Assert.Equal(2, data.Users.Count);
        Assert.All(data.Users, u => Assert.All(u.Types, t => Assert.Equal(EventType.Click, (EventType)(t - 1))));
    }

    [Fact]
    public async Task Yoochoose_FolderWithoutTrainFull_SaysWhatItNeeds()
    {
        Write("empty/readme.txt", "nothing");

        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => NextItemSources.For("yoochoose-100k").ReadAsync(Path.Combine(_root, "empty")));

        Assert.Contains("*_train_full.txt", error.Message, StringComparison.Ordinal);
    }
}
