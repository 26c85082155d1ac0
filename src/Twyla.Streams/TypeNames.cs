using System.Text;
using System.Text.RegularExpressions;

namespace Twyla.Streams;

/// <summary>
/// Type names as a C# or F# user writes them, for messages: nested types joined with <c>.</c> (an F# record in module
/// <c>Program</c> is <c>Program.BookingRequested</c>, not the CLR's <c>Program+BookingRequested</c>), generic arguments
/// in angle brackets without the arity suffix, F# core types by their F# names (<c>option&lt;string&gt;</c>), no namespace.
/// </summary>
internal static partial class TypeNames
{
    /// <summary>The readable name of <paramref name="type"/>.</summary>
    public static string Of(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (type.IsGenericParameter)
        {
            return type.Name;
        }

        if (type.IsArray)
        {
            return Of(type.GetElementType()!) + "[]";
        }

        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Of(underlying) + "?";
        }

        var builder = new StringBuilder();
        AppendName(builder, type);
        if (type.IsGenericType)
        {
            builder.Append('<').AppendJoin(", ", type.GetGenericArguments().Select(Of)).Append('>');
        }

        return builder.ToString();
    }

    /// <summary>
    /// <paramref name="message"/> (e.g. from System.Text.Json) with every quoted CLR type name (<c>'Program+Booking'</c>,
    /// <c>'Microsoft.FSharp.Core.FSharpOption`1[System.String]'</c>) written as <see cref="Of"/> writes it.
    /// </summary>
    public static string InMessage(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return QuotedClrName().Replace(message, match => "'" + Readable(match.Groups[1].Value) + "'");
    }

    /// <summary>A CLR type name as <see cref="Type.ToString"/> writes it, made readable; unparsable text comes back as it was.</summary>
    internal static string Readable(string clrName)
    {
        var position = 0;
        var result = ParseType(clrName, ref position);
        return result is not null && position == clrName.Length ? result : clrName;
    }

    private static void AppendName(StringBuilder builder, Type type)
    {
        if (type.IsNested && type.DeclaringType is { } outer)
        {
            AppendName(builder, outer);
            builder.Append('.');
        }

        builder.Append(FSharpName(type) ?? WithoutArity(type.Name));
    }

    private static string? FSharpName(Type type) =>
        type.Namespace == "Microsoft.FSharp.Core" || type.Namespace == "Microsoft.FSharp.Collections"
            ? FSharpName(WithoutArity(type.Name))
            : null;

    private static string? FSharpName(string clrName) => clrName switch
    {
        "FSharpOption" => "option",
        "FSharpValueOption" => "voption",
        "FSharpList" => "list",
        "FSharpMap" => "Map",
        "FSharpSet" => "Set",
        "FSharpResult" => "Result",
        "FSharpChoice" => "Choice",
        "Unit" => "unit",
        _ => null,
    };

    private static string WithoutArity(string name)
    {
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        return tick < 0 ? name : name[..tick];
    }

    // name      := segment ('`' digits)? ('[' type (',' type)* ']')?
    // segment   := namespace-qualified name with '+' between nested types
    private static string? ParseType(string text, ref int position)
    {
        var start = position;
        while (position < text.Length && text[position] is not ('[' or ']' or ','))
        {
            position++;
        }

        var name = text[start..position].Trim();
        if (name.Length == 0)
        {
            return null;
        }

        var nested = name.Split('+');
        var first = nested[0];
        var lastDot = first.LastIndexOf('.');
        var isFSharpCore = lastDot > 0 && first[..lastDot] is "Microsoft.FSharp.Core" or "Microsoft.FSharp.Collections";
        nested[0] = lastDot < 0 ? first : first[(lastDot + 1)..];
        var display = string.Join('.', nested.Select(segment =>
            isFSharpCore && nested.Length == 1 ? FSharpName(WithoutArity(segment)) ?? WithoutArity(segment) : WithoutArity(segment)));

        var isArray = false;
        if (position < text.Length && text[position] == '[')
        {
            if (position + 1 < text.Length && text[position + 1] == ']')
            {
                position += 2;
                isArray = true;
            }
            else if (name.Contains('`', StringComparison.Ordinal))
            {
                position++; // '['
                var arguments = new List<string>();
                while (true)
                {
                    var argument = ParseType(text, ref position);
                    if (argument is null || position >= text.Length)
                    {
                        return null;
                    }

                    arguments.Add(argument);
                    if (text[position] == ',')
                    {
                        position++;
                        continue;
                    }

                    if (text[position] != ']')
                    {
                        return null;
                    }

                    position++;
                    break;
                }

                display = display + "<" + string.Join(", ", arguments) + ">";
            }
        }

        return isArray ? display + "[]" : display;
    }

    // A quoted token that looks like a CLR type name with a nested or generic part (a plain 'seats' is left alone).
    [GeneratedRegex(@"'([A-Za-z_][\w.]*(?:[+`][\w.`+\[\],]*)+)'", RegexOptions.CultureInvariant)]
    private static partial Regex QuotedClrName();
}
