namespace Persona.Cluster;

/// <summary>
/// A grain call that fails for a reason of its node (the store refused a connection, a query timed out) fails the caller
/// with the reason as a message: such exceptions (Npgsql's among them) have no codec, and one that cannot cross to the
/// calling node would be lost with the response.
/// </summary>
internal sealed class StoreFailureFilter : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception ex) when (ex.GetType().Namespace is { } ns && !ns.StartsWith("System", StringComparison.Ordinal) && !ns.StartsWith("Orleans", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{ex.GetType().Name} in {context.TargetId}: {ex.Message}");
        }
    }
}
