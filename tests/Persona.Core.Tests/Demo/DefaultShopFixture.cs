using System.Diagnostics;
using Persona.Core.Demo;

namespace Persona.Core.Tests.Demo;

/// <summary>The default demo shop, generated once for every test that inspects it.</summary>
public sealed class DefaultShopFixture
{
    public DefaultShopFixture()
    {
        var watch = Stopwatch.StartNew();
        Shop = new DemoShopGenerator(new DemoOptions()).Generate();
        Elapsed = watch.Elapsed;
    }

    public DemoShop Shop { get; }
    public TimeSpan Elapsed { get; }
}

[CollectionDefinition(Name)]
public sealed class DefaultShopCollection : ICollectionFixture<DefaultShopFixture>
{
    public const string Name = "Default demo shop";
}
