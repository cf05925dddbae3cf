using Persona.Core.Retrieval;
using Persona.Core.State;

namespace Persona.Core.Tests.State;

public class KeyInternerTests
{
    [Fact]
    public void Shared_GivesTheInternedInstance_OrTheKeyItself()
    {
        var interner = new KeyInterner();
        var first = new string("sku-42".AsSpan());
        interner.Intern(first);

        var decoded = new string("sku-42".AsSpan());
        Assert.NotSame(first, decoded);
        Assert.Same(first, interner.Shared(decoded));
        var unknown = new string("sku-7".AsSpan());
        Assert.Same(unknown, interner.Shared(unknown));
    }

    [Fact]
    public void PopularityIndex_RestoredWithSharedIds_KeepsTheNumberingsInstances()
    {
        var ids = new KeyInterner();
        var catalogId = new string("sku-1".AsSpan());
        ids.Intern(catalogId);
        var written = new PopularityIndex();
        written.Add(new string("sku-1".AsSpan()), ["Beauty"], 1.0, DateTimeOffset.UnixEpoch);
        var buffer = new StateWriter();
        written.WriteTo(buffer);

        var restored = new PopularityIndex(sharedIds: ids);
        restored.ReadFrom(StateReader.Open(buffer.ToArray(1), 1)!);

        Assert.Same(catalogId, restored.Top(null, 1)[0].Id);
    }
}
