using Persona.Abstractions;
using Persona.Core.Ingestion;

namespace Persona.Core.Tests.Ingestion;

public class ItemUserValidatorTests
{
    private static readonly DateTimeOffset Now = new(2024, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly ItemValidator _items = new(new IngestionOptions());
    private readonly UserValidator _users = new(new IngestionOptions());

    private static Item ValidItem() => new()
    {
        Id = "i1",
        Title = "Velvet lipstick",
        Description = "Matte finish",
        CategoryPath = ["Beauty", "Makeup", "Lipstick"],
        Brand = "Rouge",
        Price = 199,
        Currency = "CNY",
        Attributes = new Dictionary<string, string> { ["category_path_zh"] = "美妆 > 彩妆 > 口红", ["color"] = "red" },
    };

    private static readonly Dictionary<string, Func<Item, Item>> ItemMutations = new()
    {
        ["blank id"] = i => i with { Id = " " },
        ["long title"] = i => i with { Title = new string('t', 4097) },
        ["long description"] = i => i with { Description = new string('d', 16385) },
        ["negative price"] = i => i with { Price = -0.01 },
        ["nan price"] = i => i with { Price = double.NaN },
        ["short currency"] = i => i with { Currency = "CN" },
        ["lower currency"] = i => i with { Currency = "cny" },
        ["blank segment"] = i => i with { CategoryPath = ["Beauty", " ", "Lipstick"], Attributes = new Dictionary<string, string>() },
        ["separator in segment"] = i => i with { CategoryPath = ["Beauty", "Make > up", "Lipstick"] },
        ["too deep"] = i => i with { CategoryPath = Enumerable.Range(0, 11).Select(n => $"c{n}").ToArray(), Attributes = new Dictionary<string, string>() },
        ["blank brand"] = i => i with { Brand = "" },
        ["zh depth"] = i => i with { Attributes = new Dictionary<string, string> { ["category_path_zh"] = "美妆 > 口红" } },
        ["long attribute"] = i => i with { Attributes = new Dictionary<string, string> { ["note"] = new string('n', 4097) } },
        ["too many attributes"] = i => i with { Attributes = Enumerable.Range(0, 65).ToDictionary(n => $"k{n}", n => "v") },
    };

    [Theory]
    [InlineData("blank id", "id")]
    [InlineData("long title", "title")]
    [InlineData("long description", "description")]
    [InlineData("negative price", "price")]
    [InlineData("nan price", "price")]
    [InlineData("short currency", "currency")]
    [InlineData("lower currency", "currency")]
    [InlineData("blank segment", "category_path[1]")]
    [InlineData("separator in segment", "category_path[1]")]
    [InlineData("too deep", "category_path")]
    [InlineData("blank brand", "brand")]
    [InlineData("zh depth", "attributes.category_path_zh")]
    [InlineData("long attribute", "attributes.note")]
    [InlineData("too many attributes", "attributes")]
    public void ItemValidate_BrokenField_ReportsFieldAndIndex(string mutation, string field)
    {
        var errors = _items.Validate([ValidItem(), ItemMutations[mutation](ValidItem())]);

        var error = Assert.Single(errors);
        Assert.Equal(1, error.Index);
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void ItemValidate_ValidItem_NoErrors()
    {
        Assert.Empty(_items.Validate([ValidItem(), ValidItem() with { Id = "i2", Price = null, CategoryPath = [], Attributes = new Dictionary<string, string>() }]));
    }

    [Fact]
    public void ItemValidate_SeveralProblems_CollectsAll()
    {
        var item = ValidItem() with { Id = "", Price = -1, Currency = "yuan" };

        var errors = _items.Validate(item, 7);

        Assert.Equal(new[] { "currency", "id", "price" }, errors.Select(e => e.Field).Order());
        Assert.All(errors, e => Assert.Equal(7, e.Index));
    }

    [Fact]
    public void UserValidate_BrokenFields_ReportsEach()
    {
        var users = new[]
        {
            new User { Id = "u1", SignupAt = Now.AddDays(-30) },
            new User
            {
                Id = "",
                Region = new string('r', 200),
                SignupAt = Now.AddDays(2),
                Attributes = new Dictionary<string, string> { ["bio"] = new string('b', 5000) },
            },
        };

        var errors = _users.Validate(users, Now);

        Assert.Equal(
            new[] { (1, "attributes.bio"), (1, "id"), (1, "region"), (1, "signup_at") }.Order(),
            errors.Select(e => (e.Index!.Value, e.Field)).Order());
    }

    [Fact]
    public void UserValidate_EmptyBatch_ReportsBatch()
    {
        Assert.Equal("users", Assert.Single(_users.Validate([], Now)).Field);
    }
}
