using Persona.Abstractions;
using Persona.Core.Ranking;
using Persona.Core.Search;

namespace Persona.Core.Tests.Recommendations;

/// <summary>Similar items through the text encoder's vectors: how an item no shopper has touched finds, and is found by, its neighbours.</summary>
public sealed class TextNeighbourTests
{
    // No category path, no events: without text only the shop's best sellers stand in for its neighbours.
    private static readonly Item NewLipstick = new() { Id = "lipstick-new", Title = "Lipstick 7 velvet", Brand = "Acme" };
    // In a category, but no shopper has touched it: it has no popularity and follows nothing.
    private static readonly Item FreshLipstick = new() { Id = "lipstick-fresh", Title = "Lipstick 9", Brand = "Zenith", CategoryPath = ["Beauty", "Makeup", "Lipstick"] };

    private static (TestShop Shop, ProductSearchIndex Index) ShopWithText()
    {
        var shop = new TestShop().WithHabits();
        shop.Catalog.Upsert([NewLipstick, FreshLipstick]);
        var items = shop.Items.Select(e => e.Item).ToList();
        var index = new ProductSearchIndex();
        index.Upsert(items);
        index.SetEncoder(new WordEncoder());
        return (shop, index);
    }

    /// <summary>
    /// Bag of words hashed into 64 buckets, L2-normalised: texts sharing words are near. The in-domain encoder needs more
    /// than this shop's 22 items to learn anything.
    /// </summary>
    private sealed class WordEncoder : Persona.Text.ITextEncoder
    {
        public int Dimension => 64;
        public string Version => "words-1";
        public string Kind => "words";

        public float[] Encode(string? text)
        {
            var v = new float[Dimension];
            foreach (var word in (text ?? "").ToLowerInvariant().Split([' ', '>', '|'], StringSplitOptions.RemoveEmptyEntries))
                if (!char.IsDigit(word[0])) v[(int)((uint)Persona.Core.StableHash.Of(word) % (uint)Dimension)] += 1;
            var norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
            if (norm > 0) System.Numerics.Tensors.TensorPrimitives.Divide(v, norm, v);
            return v;
        }

        public void EncodeBatch(IReadOnlyList<string?> texts, Span<float> output)
        {
            for (var i = 0; i < texts.Count; i++) Encode(texts[i]).CopyTo(output.Slice(i * Dimension, Dimension));
        }
    }

    [Fact]
    public void Similar_NewItemWithoutCategoryOrEvents_FindsItsKindByText()
    {
        var (shop, index) = ShopWithText();
        using var _ = index;

        var withoutText = shop.Recommender.Similar(NewLipstick, 5, model: null);
        var withText = shop.Recommender.Similar(NewLipstick, 3, model: null, text: index);

        Assert.All(withoutText, r => Assert.Equal([RecommendationSources.Popularity], r.Sources));
        Assert.Equal("shampoo-0", withoutText[0].ItemId);
        Assert.Equal(3, withText.Count);
        Assert.All(withText, r => Assert.StartsWith("lipstick-", r.ItemId, StringComparison.Ordinal));
        Assert.All(withText, r => Assert.Equal(RecommendationSources.Text, r.Sources[0]));
        Assert.Equal("Similar to Lipstick 7 velvet", withText[0].Reason.En);
        Assert.Equal("与「Lipstick 7 velvet」相似", withText[0].Reason.Zh);
    }

    [Fact]
    public void Similar_WarmItem_ListsAnUntouchedItemByText()
    {
        var (shop, index) = ShopWithText();
        using var _ = index;
        shop.Catalog.TryGet("lipstick-3", out var lipstick);

        var without = shop.Recommender.Similar(lipstick!.Item, 10, model: null);
        var similar = shop.Recommender.Similar(lipstick.Item, 10, model: null, text: index);

        Assert.DoesNotContain(without, r => r.ItemId == FreshLipstick.Id);
        var found = Assert.Single(similar, r => r.ItemId == FreshLipstick.Id);
        Assert.Equal([RecommendationSources.Text], found.Sources);
        Assert.DoesNotContain(similar, r => r.ItemId == "lipstick-3");
    }

    [Fact]
    public void Nearest_ItemNotEncoded_IsEmptyAndAcceptFilters()
    {
        var (shop, index) = ShopWithText();
        using var _ = index;

        Assert.Empty(index.Nearest("no-such-item", 5, _ => true));
        var nearest = index.Nearest(NewLipstick.Id, 5, id => id != "lipstick-0");
        Assert.NotEmpty(nearest);
        Assert.DoesNotContain(nearest, n => n.Id is "lipstick-0" or "lipstick-new");
        Assert.Equal(nearest.OrderByDescending(n => n.Score).Select(n => n.Id), nearest.Select(n => n.Id));
        Assert.All(nearest, n => Assert.InRange(n.Score, 0f, 1.0001f));
        Assert.NotNull(shop);
    }
}
