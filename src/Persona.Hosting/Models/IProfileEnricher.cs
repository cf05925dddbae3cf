using Persona.Abstractions;

namespace Persona.Hosting;

/// <summary>Adds what models computed (predictions, segment) to a profile the engine built.</summary>
public interface IProfileEnricher
{
    Profile Enrich(Profile profile);
}
