namespace Twyla.Streams.Rpc;

/// <summary>
/// How calls to one procedure are made: timeout, parallelism of a flow, retries and the correlation id.
/// Immutable: start from <see cref="Default"/> (or <see cref="Create()"/>, <see cref="Create(int)"/>) and use the <c>With*</c> methods.
/// </summary>
public sealed class RpcCallSettings
{
    private RpcCallSettings(
        TimeSpan timeout, int parallelism, bool idempotent, int maxAttempts, TimeSpan backoffBase, TimeSpan backoffMax, string correlationId)
    {
        Timeout = timeout;
        Parallelism = parallelism;
        Idempotent = idempotent;
        MaxAttempts = maxAttempts;
        BackoffBase = backoffBase;
        BackoffMax = backoffMax;
        CorrelationId = correlationId;
    }

    /// <summary>How long the client waits for one call, retries included (default 10 s). Also sent to the server.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>How many calls a flow keeps in flight (default 16). Results are emitted in request order.</summary>
    public int Parallelism { get; }

    /// <summary>Whether the procedure is idempotent, so a failed call may be retried (default <c>false</c>).</summary>
    public bool Idempotent { get; }

    /// <summary>Attempts per call when <see cref="Idempotent"/>, the first included (default 3).</summary>
    public int MaxAttempts { get; }

    /// <summary>The delay before the first retry; it doubles per retry, with jitter (default 100 ms).</summary>
    public TimeSpan BackoffBase { get; }

    /// <summary>The longest delay between two attempts (default 2 s).</summary>
    public TimeSpan BackoffMax { get; }

    /// <summary>
    /// The correlation id sent with every call, or an empty string (the default): then the ambient
    /// <see cref="RpcContext.Current"/>'s id is used by <c>CallAsync</c>, and a new id otherwise.
    /// </summary>
    public string CorrelationId { get; }

    /// <summary>The defaults: 10 s timeout, parallelism 16, not idempotent (3 attempts, backoff 100 ms to 2 s once it is).</summary>
    public static RpcCallSettings Default { get; } =
        new(TimeSpan.FromSeconds(10), 16, false, 3, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), string.Empty);

    /// <summary>The <see cref="Default"/> settings, to change with the <c>With*</c> methods.</summary>
    /// <returns>The settings.</returns>
    public static RpcCallSettings Create() => Default;

    /// <summary>The <see cref="Default"/> settings with another parallelism.</summary>
    /// <param name="parallelism">How many calls a flow keeps in flight (see <see cref="WithParallelism"/>).</param>
    /// <returns>The settings.</returns>
    public static RpcCallSettings Create(int parallelism) => Default.WithParallelism(parallelism);

    /// <summary>A copy with another timeout.</summary>
    /// <param name="timeout">Positive, at most one day.</param>
    /// <returns>The new settings.</returns>
    public RpcCallSettings WithTimeout(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive and at most one day.");
        }

        return Copy(timeout: timeout);
    }

    /// <summary>A copy with another parallelism for flows.</summary>
    /// <param name="parallelism">At least 1.</param>
    /// <returns>The new settings.</returns>
    public RpcCallSettings WithParallelism(int parallelism)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        return Copy(parallelism: parallelism);
    }

    /// <summary>A copy that marks the procedure idempotent (retried on transient failures) or not.</summary>
    /// <param name="idempotent">Whether a call may be repeated safely.</param>
    /// <returns>The new settings.</returns>
    public RpcCallSettings WithIdempotent(bool idempotent) => Copy(idempotent: idempotent);

    /// <summary>
    /// A copy with another retry policy, used only when <see cref="Idempotent"/>: up to
    /// <paramref name="maxAttempts"/> attempts, waiting <paramref name="backoffBase"/> × 2^(retry − 1) with jitter,
    /// at most <paramref name="backoffMax"/>, and never retrying past the timeout.
    /// </summary>
    /// <param name="maxAttempts">At least 1 (1 disables retries).</param>
    /// <param name="backoffBase">Positive.</param>
    /// <param name="backoffMax">At least <paramref name="backoffBase"/>.</param>
    /// <returns>The new settings.</returns>
    public RpcCallSettings WithRetries(int maxAttempts, TimeSpan backoffBase, TimeSpan backoffMax)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        Backoff.Validate(backoffBase, backoffMax, nameof(backoffBase), nameof(backoffMax));
        return Copy(maxAttempts: maxAttempts, backoffBase: backoffBase, backoffMax: backoffMax);
    }

    /// <summary>A copy that sends <paramref name="correlationId"/> with every call (an empty string restores the default).</summary>
    /// <param name="correlationId">The correlation id, at most 128 visible ASCII characters.</param>
    /// <returns>The new settings.</returns>
    public RpcCallSettings WithCorrelationId(string correlationId)
    {
        ArgumentNullException.ThrowIfNull(correlationId);
        if (correlationId.Length > 0 && !IsValidCorrelationId(correlationId))
        {
            throw new ArgumentException("A correlation id is at most 128 visible ASCII characters.", nameof(correlationId));
        }

        return Copy(correlationId: correlationId);
    }

    /// <summary>Whether <paramref name="correlationId"/> can travel in a header: 1 to 128 visible ASCII characters.</summary>
    /// <param name="correlationId">The id.</param>
    /// <returns>Whether it is valid.</returns>
    public static bool IsValidCorrelationId(string? correlationId) =>
        correlationId is { Length: > 0 and <= 128 } && !correlationId.AsSpan().ContainsAnyExceptInRange('!', '~');

    private RpcCallSettings Copy(
        TimeSpan? timeout = null,
        int? parallelism = null,
        bool? idempotent = null,
        int? maxAttempts = null,
        TimeSpan? backoffBase = null,
        TimeSpan? backoffMax = null,
        string? correlationId = null) =>
        new(
            timeout ?? Timeout,
            parallelism ?? Parallelism,
            idempotent ?? Idempotent,
            maxAttempts ?? MaxAttempts,
            backoffBase ?? BackoffBase,
            backoffMax ?? BackoffMax,
            correlationId ?? CorrelationId);
}
