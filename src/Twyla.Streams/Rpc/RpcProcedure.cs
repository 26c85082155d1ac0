namespace Twyla.Streams.Rpc;

/// <summary>Makes <see cref="RpcProcedure{TRequest, TResponse}"/>s.</summary>
public static class RpcProcedure
{
    /// <summary>
    /// A procedure with its request and response types, declared once and called without type arguments:
    /// <c>rpc.CallAsync(GetBooking, request)</c> (C#), <c>rpc.CallAsync(getBooking, { Pnr = "A1" })</c> (F#).
    /// </summary>
    /// <typeparam name="TRequest">The request type, serialized as the JSON body.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="name">A qualified name <c>service.procedure</c>, e.g. <c>navitaire-api.get_booking</c>.</param>
    /// <returns>The typed procedure.</returns>
    /// <exception cref="ArgumentException">The name breaks the rules of <see cref="RpcProcedureName"/>.</exception>
    public static RpcProcedure<TRequest, TResponse> Create<TRequest, TResponse>(string name)
    {
        _ = RpcProcedureName.Parse(name, nameof(name));
        return new RpcProcedure<TRequest, TResponse>(name);
    }
}

/// <summary>
/// A procedure of another service together with its request and response types, so a call needs no type arguments
/// (F# infers them from it). Make one with <see cref="RpcProcedure.Create{TRequest, TResponse}"/>.
/// </summary>
/// <typeparam name="TRequest">The request type, serialized as the JSON body.</typeparam>
/// <typeparam name="TResponse">The response type.</typeparam>
public sealed class RpcProcedure<TRequest, TResponse>
{
    internal RpcProcedure(string name) => Name = name;

    /// <summary>The qualified name <c>service.procedure</c>.</summary>
    public string Name { get; }

    /// <inheritdoc />
    public override string ToString() => Name;
}
