using System.Text.RegularExpressions;

namespace Twyla.Streams.Rpc;

/// <summary>
/// Rules for procedure names. A client calls <c>service.procedure</c> (for example
/// <c>navitaire-api.get_booking</c>); a server maps the <c>procedure</c> part (<c>get_booking</c>).
/// Each part is lower-case letters, digits, <c>-</c> and <c>_</c>.
/// </summary>
public static partial class RpcProcedureName
{
    private const string PartRule = "lower-case letters, digits, '-' and '_' (at least one character)";

    [GeneratedRegex("^[a-z0-9_-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex PartRegex();

    /// <summary>Whether <paramref name="name"/> is a valid qualified name <c>service.procedure</c>.</summary>
    /// <param name="name">The candidate name.</param>
    /// <returns><c>true</c> when it follows the rules.</returns>
    public static bool IsValidQualified(string? name)
    {
        if (name is null || name.Length > 255)
        {
            return false;
        }

        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && IsValidProcedure(name[..dot]) && IsValidProcedure(name[(dot + 1)..]);
    }

    /// <summary>Whether <paramref name="procedure"/> is a valid procedure name (the part after the service).</summary>
    /// <param name="procedure">The candidate name.</param>
    /// <returns><c>true</c> when it follows the rules.</returns>
    public static bool IsValidProcedure(string? procedure) =>
        procedure is not null && procedure.Length <= 200 && PartRegex().IsMatch(procedure);

    /// <summary>Splits a qualified name, or throws an <see cref="ArgumentException"/> explaining the rule.</summary>
    internal static (string Service, string Procedure) Parse(string? name, string parameterName)
    {
        if (!IsValidQualified(name))
        {
            throw new ArgumentException(
                $"'{name}' is not a valid procedure name: it must be 'service.procedure' with exactly one '.', each part {PartRule}, for example 'navitaire-api.get_booking'.",
                parameterName);
        }

        var dot = name!.IndexOf('.', StringComparison.Ordinal);
        return (name[..dot], name[(dot + 1)..]);
    }

    /// <summary>Throws an <see cref="ArgumentException"/> explaining the rule unless <paramref name="procedure"/> is valid.</summary>
    /// <param name="procedure">A procedure name without its service, e.g. <c>get_booking</c>.</param>
    /// <param name="parameterName">The parameter to name in the exception.</param>
    /// <returns>The procedure name.</returns>
    public static string ValidateProcedure(string? procedure, string parameterName)
    {
        if (!IsValidProcedure(procedure))
        {
            throw new ArgumentException(
                $"'{procedure}' is not a valid procedure name: it must be {PartRule}, without the service, for example 'get_booking'.",
                parameterName);
        }

        return procedure!;
    }
}
