namespace Twyla.Streams.Contracts;

/// <summary>
/// Declares the data version of a payload contract, once, on its type: typed emits of the type carry it in the event's
/// <c>dataversion</c> attribute, and a listener of the type announces the versions it accepts
/// (<see cref="Accepts"/>, or only <see cref="Version"/>). A type without it is version 1.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class ContractVersionAttribute : Attribute
{
    /// <summary>Declares the version of the contract.</summary>
    /// <param name="version">The data version, at least 1.</param>
    public ContractVersionAttribute(int version)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        Version = version;
    }

    /// <summary>The data version typed emits of the type carry.</summary>
    public int Version { get; }

    /// <summary>
    /// The data versions a listener of the type accepts (each at least 1), e.g. <c>[1, 2]</c> while producers move from
    /// version 1 to 2; empty (the default): only <see cref="Version"/>.
    /// </summary>
#pragma warning disable CA1819 // an attribute argument must be an array
    public int[] Accepts { get; set; } = [];
#pragma warning restore CA1819
}
