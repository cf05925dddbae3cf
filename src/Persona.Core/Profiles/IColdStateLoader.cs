namespace Persona.Core.Profiles;

/// <summary>Where a <see cref="ProfileBook"/> reads back the state of a shopper it holds cold (docs/state.md).</summary>
public interface IColdStateLoader
{
    /// <summary>
    /// The shopper's state exactly as last stored. When the stored record is missing or damaged, the state rebuilt from
    /// the shopper's applied events, with <paramref name="stored"/> false so it is written again before it can be
    /// dropped. Called synchronously under the shopper's lock.
    /// </summary>
    ProfileState Load(string userId, out bool stored);
}
