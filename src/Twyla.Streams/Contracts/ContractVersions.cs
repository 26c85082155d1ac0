using System.Collections.Concurrent;
using System.Reflection;

namespace Twyla.Streams.Contracts;

/// <summary>The one place that reads <see cref="ContractVersionAttribute"/>: a type's data version and the versions its listeners accept.</summary>
internal static class ContractVersions
{
    /// <summary>The version of a type without the attribute.</summary>
    public const int Default = 1;

    private static readonly ConcurrentDictionary<Type, (int Version, IReadOnlyList<int> Accepts)> Cache = new();

    /// <summary>The data version typed emits of <paramref name="type"/> carry.</summary>
    public static int Of(Type type) => Read(type).Version;

    /// <summary>The data versions a listener of <paramref name="type"/> accepts, ascending.</summary>
    public static IReadOnlyList<int> AcceptedBy(Type type) => Read(type).Accepts;

    private static (int Version, IReadOnlyList<int> Accepts) Read(Type type) => Cache.GetOrAdd(type, static t =>
    {
        var attribute = t.GetCustomAttribute<ContractVersionAttribute>(inherit: false);
        if (attribute is null)
        {
            return (Default, [Default]);
        }

        if (attribute.Accepts.Any(v => v < 1))
        {
            throw new ArgumentException(
                $"The [ContractVersion] of {t.FullName} accepts version {attribute.Accepts.Min()}: versions start at 1.", nameof(type));
        }

        int[] accepts = attribute.Accepts.Length == 0 ? [attribute.Version] : [.. attribute.Accepts.Distinct().Order()];
        return (attribute.Version, accepts);
    });
}
