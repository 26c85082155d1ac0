using System.Text.RegularExpressions;

namespace Twyla.Streams.Events;

/// <summary>
/// Rules for event names (<c>domain.event-type</c>, for example <c>booking.created</c>) and for the
/// patterns listeners bind with (<c>booking.*</c>, <c>booking.#</c>).
/// </summary>
/// <remarks>
/// A name is lower-case letters, digits, <c>-</c> and <c>.</c>, with at least one dot and no empty
/// segment. A pattern is a name whose segments may also be <c>*</c> (exactly one segment) or
/// <c>#</c> (zero or more segments), as in AMQP topic exchanges.
/// </remarks>
public static partial class EventName
{
    /// <summary>What a valid name looks like, for error messages.</summary>
    internal const string NameRule =
        "an event name is 'domain.event-type': lower-case letters, digits and '-', in at least two segments separated by '.', for example 'booking.created'";

    internal const string PatternRule =
        "an event pattern is an event name whose segments may also be '*' (one segment) or '#' (any number of segments), for example 'booking.*'";

    [GeneratedRegex("^[a-z0-9-]+(\\.[a-z0-9-]+)+$", RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();

    [GeneratedRegex("^([a-z0-9-]+|\\*|#)(\\.([a-z0-9-]+|\\*|#))+$", RegexOptions.CultureInvariant)]
    private static partial Regex PatternRegex();

    /// <summary>Whether <paramref name="name"/> is a valid event name.</summary>
    /// <param name="name">The candidate name.</param>
    /// <returns><c>true</c> when the name follows the rules.</returns>
    public static bool IsValid(string? name) => name is not null && name.Length <= 255 && NameRegex().IsMatch(name);

    /// <summary>Whether <paramref name="pattern"/> is a valid name or binding pattern.</summary>
    /// <param name="pattern">The candidate pattern.</param>
    /// <returns><c>true</c> when the pattern follows the rules.</returns>
    public static bool IsValidPattern(string? pattern) =>
        pattern is not null && pattern.Length <= 255 && PatternRegex().IsMatch(pattern);

    /// <summary>Throws an <see cref="ArgumentException"/> that says what a valid name looks like unless <paramref name="name"/> is valid.</summary>
    /// <param name="name">The candidate name.</param>
    /// <param name="parameterName">The parameter name to report.</param>
    /// <returns>The name, for chaining.</returns>
    internal static string Validate(string? name, string parameterName)
    {
        if (!IsValid(name))
        {
            throw new ArgumentException($"'{name}' is not a valid event name: {NameRule}.", parameterName);
        }

        return name!;
    }

    /// <summary>Throws an <see cref="ArgumentException"/> unless <paramref name="pattern"/> is a valid name or pattern.</summary>
    /// <param name="pattern">The candidate pattern.</param>
    /// <param name="parameterName">The parameter name to report.</param>
    /// <returns>The pattern, for chaining.</returns>
    internal static string ValidatePattern(string? pattern, string parameterName)
    {
        if (!IsValidPattern(pattern))
        {
            throw new ArgumentException($"'{pattern}' is not a valid event name or pattern: {PatternRule}.", parameterName);
        }

        return pattern!;
    }

    /// <summary>Whether the event <paramref name="name"/> matches the binding <paramref name="pattern"/> (AMQP topic rules).</summary>
    /// <param name="pattern">A valid pattern.</param>
    /// <param name="name">A valid name.</param>
    /// <returns><c>true</c> when an exchange bound with the pattern routes the name.</returns>
    internal static bool Matches(string pattern, string name)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(name);
        return Match(pattern.Split('.'), 0, name.Split('.'), 0);
    }

    private static bool Match(string[] p, int pi, string[] n, int ni)
    {
        while (true)
        {
            if (pi == p.Length)
            {
                return ni == n.Length;
            }

            if (p[pi] == "#")
            {
                for (var skip = ni; skip <= n.Length; skip++)
                {
                    if (Match(p, pi + 1, n, skip))
                    {
                        return true;
                    }
                }

                return false;
            }

            if (ni == n.Length || (p[pi] != "*" && p[pi] != n[ni]))
            {
                return false;
            }

            pi++;
            ni++;
        }
    }
}
