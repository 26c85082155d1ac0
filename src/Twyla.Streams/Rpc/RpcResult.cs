namespace Twyla.Streams.Rpc;

/// <summary>
/// The outcome of one procedure call: exactly one of <see cref="Success"/>, <see cref="Failure"/> or
/// <see cref="Timeout"/>. The hierarchy is closed: no other cases exist.
/// </summary>
/// <typeparam name="T">The response type.</typeparam>
/// <remarks>
/// <para>In C#, take it apart with a <c>switch</c>:</para>
/// <code>
/// var text = result switch
/// {
///     RpcResult&lt;Booking&gt;.Success(var booking) =&gt; booking.Pnr,
///     RpcResult&lt;Booking&gt;.Failure f =&gt; $"{f.Code} ({f.Status}): {f.Message}",
///     RpcResult&lt;Booking&gt;.Timeout t =&gt; $"gave up after {t.After}",
///     _ =&gt; throw new UnreachableException(),
/// };
/// </code>
/// <para>In F#, the recommended shape is <see cref="Match{TOut}"/>, which is exhaustive by construction:</para>
/// <code>
/// let text =
///     result.Match(
///         (fun booking -&gt; booking.Pnr),
///         (fun failure -&gt; $"{failure.Code} ({failure.Status}): {failure.Message}"),
///         (fun after -&gt; $"gave up after {after}"))
/// </code>
/// <para>Type tests work too: <c>match result with :? RpcResult&lt;Booking&gt;.Success as s -&gt; s.Value | ...</c>.</para>
/// </remarks>
public abstract record RpcResult<T>
{
    private RpcResult()
    {
    }

    /// <summary>Whether this is a <see cref="Success"/>.</summary>
    public bool IsSuccess => this is Success;

    /// <summary>Calls the function matching this case and returns its value.</summary>
    /// <typeparam name="TOut">What the functions return.</typeparam>
    /// <param name="onSuccess">Called with the response value of a <see cref="Success"/>.</param>
    /// <param name="onFailure">Called with a <see cref="Failure"/> (its code, message and HTTP status).</param>
    /// <param name="onTimeout">Called with the time after which a <see cref="Timeout"/> gave up.</param>
    /// <returns>What the called function returned.</returns>
    public TOut Match<TOut>(Func<T, TOut> onSuccess, Func<Failure, TOut> onFailure, Func<TimeSpan, TOut> onTimeout)
    {
        ArgumentNullException.ThrowIfNull(onSuccess);
        ArgumentNullException.ThrowIfNull(onFailure);
        ArgumentNullException.ThrowIfNull(onTimeout);
        return this switch
        {
            Success s => onSuccess(s.Value),
            Failure f => onFailure(f),
            Timeout t => onTimeout(t.After),
            _ => throw new InvalidOperationException("RpcResult has exactly three cases."),
        };
    }

    /// <summary>The procedure answered: <paramref name="Value"/> is its response.</summary>
    /// <param name="Value">The deserialized response (never null).</param>
    public sealed record Success(T Value) : RpcResult<T>;

    /// <summary>
    /// The call failed: the transport, the HTTP exchange, the server or the client said no. See
    /// <see cref="RpcFailureCodes"/> for the codes the client produces; a server's problem code is passed on as is.
    /// </summary>
    /// <param name="Code">A machine-readable code, e.g. <c>connection_refused</c> or <c>internal_error</c>.</param>
    /// <param name="Message">A human-readable explanation.</param>
    /// <param name="Status">The HTTP status of the response, or 0 when there was none.</param>
    public sealed record Failure(string Code, string Message, int Status) : RpcResult<T>;

    /// <summary>The call did not end before its deadline.</summary>
    /// <param name="After">How long the client waited before giving up.</param>
    public sealed record Timeout(TimeSpan After) : RpcResult<T>;
}
