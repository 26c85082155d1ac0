namespace Twyla.Streams.Hosting.Rpc;

/// <summary>
/// Thrown by a procedure handler to answer with a problem of its own: the caller receives a
/// <c>Failure</c> with <see cref="Code"/>, the message and <see cref="Status"/>. Any other exception is answered
/// 500 with code <c>internal_error</c> and no detail.
/// </summary>
public sealed class RpcException : Exception
{
    /// <summary>A problem with status 400.</summary>
    public RpcException()
        : this("rejected", "The procedure rejected the request.", 400)
    {
    }

    /// <summary>A problem with code <c>rejected</c> and status 400.</summary>
    /// <param name="message">The explanation sent to the caller.</param>
    public RpcException(string message)
        : this("rejected", message, 400)
    {
    }

    /// <summary>A problem with code <c>rejected</c> and status 400, keeping the cause (never sent to the caller).</summary>
    /// <param name="message">The explanation sent to the caller.</param>
    /// <param name="innerException">The cause.</param>
    public RpcException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = "rejected";
        Status = 400;
    }

    /// <summary>A problem with the given code, message and status.</summary>
    /// <param name="code">A machine-readable code: lower-case letters, digits and '_', e.g. <c>booking_not_found</c>.</param>
    /// <param name="message">The explanation sent to the caller.</param>
    /// <param name="status">An HTTP error status, 400 to 599.</param>
    public RpcException(string code, string message, int status)
        : base(message)
    {
        if (string.IsNullOrEmpty(code) || !code.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
        {
            throw new ArgumentException("A problem code is lower-case letters, digits and '_', for example 'booking_not_found'.", nameof(code));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(status, 400);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(status, 599);
        Code = code;
        Status = status;
    }

    /// <summary>The problem's machine-readable code.</summary>
    public string Code { get; }

    /// <summary>The HTTP status of the answer.</summary>
    public int Status { get; }
}
