using System.Reflection;
using Microsoft.Extensions.Configuration;
using Twyla.Streams.Hosting.Rpc;

namespace Twyla.Streams.Hosting.Configuration;

/// <summary>
/// The keys the section <c>Twyla</c> accepts, read from the options types (<see cref="TwylaOptions"/> and
/// <see cref="TwylaRpcOptions"/>), so a new option is known the moment it exists. A key that is not one of them is a
/// typo (<c>Twyla__Ampq__Uri</c>) that would otherwise be ignored in silence: it is reported with the closest known key.
/// </summary>
internal static class TwylaConfigurationKeys
{
    /// <summary>Every accepted key, <c>:</c>-separated; <c>*</c> stands for any one segment (a dictionary key, an array index).</summary>
    public static IReadOnlyList<string> Known { get; } =
        [.. KeysOf(typeof(TwylaOptions), TwylaOptions.SectionName), .. KeysOf(typeof(TwylaRpcOptions), RpcServiceCollectionExtensions.SectionName)];

    /// <summary>
    /// Adds an error for every key with a value under <paramref name="section"/> that is not known, except those under
    /// <paramref name="skip"/> (checked by whoever binds that part).
    /// </summary>
    public static void CheckUnknown(IConfigurationSection section, string? skip, List<string> errors)
    {
        var unknown = section.AsEnumerable()
            .Where(entry => entry.Value is not null && !IsUnder(entry.Key, skip) && !Known.Any(known => Matches(known, entry.Key)))
            .Select(entry => entry.Key)
            .Order(StringComparer.OrdinalIgnoreCase);
        foreach (var key in unknown)
        {
            var closest = Closest(key);
            errors.Add($"{key} is not a known setting: did you mean {closest}? (as an environment variable: {EnvironmentName(closest)})");
        }
    }

    private static bool IsUnder(string key, string? section) =>
        section is not null && (key.Equals(section, StringComparison.OrdinalIgnoreCase) ||
                                key.StartsWith(section + ConfigurationPath.KeyDelimiter, StringComparison.OrdinalIgnoreCase));

    private static bool Matches(string known, string key)
    {
        var pattern = known.Split(ConfigurationPath.KeyDelimiter);
        var segments = key.Split(ConfigurationPath.KeyDelimiter);
        return pattern.Length == segments.Length &&
               pattern.Zip(segments).All(p => p.First == "*" || p.First.Equals(p.Second, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The known key nearest to <paramref name="key"/> (edit distance, case-insensitive), <c>*</c> filled from the key.</summary>
    private static string Closest(string key)
    {
        var segments = key.Split(ConfigurationPath.KeyDelimiter);
        return Known
            .Select(known => string.Join(
                ConfigurationPath.KeyDelimiter,
                known.Split(ConfigurationPath.KeyDelimiter).Select((s, i) => s == "*" ? (i < segments.Length ? segments[i] : "{name}") : s)))
            .MinBy(candidate => Distance(candidate.ToUpperInvariant(), key.ToUpperInvariant()))!;
    }

    private static string EnvironmentName(string key) => key.Replace(ConfigurationPath.KeyDelimiter, "__", StringComparison.Ordinal);

    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }

    /// <summary>
    /// The keys of an options type: a scalar property is a key; a property whose type is an options class of this
    /// library is a section of keys; a dictionary or list of scalars is a key per entry. Anything else (e.g.
    /// <c>JsonSerializerOptions</c>) is set in code only.
    /// </summary>
    private static IEnumerable<string> KeysOf(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var key = prefix + ConfigurationPath.KeyDelimiter + property.Name;
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (propertyType == typeof(TimeSpan[]))
            {
                // a list of durations: one key with commas, or one key per entry
                yield return key;
                yield return key + ConfigurationPath.KeyDelimiter + "*";
            }
            else if (IsScalar(propertyType))
            {
                yield return key;
            }
            else if (propertyType.IsClass && propertyType.Assembly == typeof(TwylaOptions).Assembly)
            {
                foreach (var nested in KeysOf(propertyType, key))
                {
                    yield return nested;
                }
            }
            else if (ElementType(propertyType) is { } element && IsScalar(element))
            {
                yield return key + ConfigurationPath.KeyDelimiter + "*";
            }
        }
    }

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan) || type == typeof(Uri);
    }

    private static Type? ElementType(Type type)
    {
        var generic = type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType &&
            (i.GetGenericTypeDefinition() == typeof(IDictionary<,>) || i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)));
        if (generic is not null)
        {
            return generic.GetGenericArguments()[1];
        }

        return type.IsArray ? type.GetElementType() : type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
    }
}
