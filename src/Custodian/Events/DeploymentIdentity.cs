using Custodian.Ledger.Checkpoints;

namespace Custodian.Events;

/// <summary>
/// The identity of a Custodian deployment, which binds a JetStream stream to the one deployment whose ledger it holds
/// (docs/events.md, "One stream per deployment"): the checkpoint log key's name (its origin, e.g. <c>custodian/host1</c>)
/// and its 32-bit key ID, as <c>&lt;origin&gt;+&lt;8 lower-case hex digits&gt;</c>, e.g. <c>custodian/host1+1a2b3c4d</c>
/// (the name and ID of the note verifier key, <see cref="NoteSigningKey"/>). Not secret: it is printed by <c>serve</c> as
/// part of the ledger key. Two deployments on the same host share the origin but not the key ID (a fresh random Ed25519
/// key per data directory); API nodes of one deployment share the data directory's key material and so the identity.
/// </summary>
public static class DeploymentIdentity
{
    /// <summary>The start of a bound stream's description; the identity follows it.</summary>
    public const string StreamDescriptionPrefix = "Custodian access ledger of deployment ";

    /// <summary>The identity of <paramref name="key"/>'s deployment.</summary>
    /// <param name="key">The checkpoint log key.</param>
    /// <returns><c>&lt;origin&gt;+&lt;key ID in 8 hex digits&gt;</c>.</returns>
    public static string Of(NoteSigningKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return $"{key.KeyName}+{key.KeyId:x8}";
    }

    /// <summary>The identity of the deployment whose data directory is <paramref name="dataDirectory"/>; creates the checkpoint log key when missing.</summary>
    /// <param name="dataDirectory">The data directory's root.</param>
    /// <param name="origin">The origin for a new key (<c>Custodian:Checkpoints:Origin</c>).</param>
    /// <returns>The identity.</returns>
    /// <exception cref="InvalidOperationException">When the key file exists but is not a valid key.</exception>
    public static string Of(string dataDirectory, string origin) => Of(LogKeyFile.LoadOrCreate(LogKeyFile.PathFor(dataDirectory), origin));

    /// <summary>The stream description that binds a stream to <paramref name="identity"/>.</summary>
    /// <param name="identity">The deployment's identity.</param>
    /// <returns><see cref="StreamDescriptionPrefix"/> followed by the identity.</returns>
    public static string StreamDescription(string identity) => StreamDescriptionPrefix + identity;

    /// <summary>The deployment a stream is bound to, from its description.</summary>
    /// <param name="description">The stream's description; null when it has none.</param>
    /// <returns>The identity, or null when the stream is bound to no deployment (no description, or one Custodian did not write).</returns>
    public static string? FromStreamDescription(string? description) =>
        description is not null && description.StartsWith(StreamDescriptionPrefix, StringComparison.Ordinal) && description.Length > StreamDescriptionPrefix.Length
            ? description[StreamDescriptionPrefix.Length..]
            : null;
}
