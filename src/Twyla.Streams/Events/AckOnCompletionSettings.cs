namespace Twyla.Streams.Events;

/// <summary>
/// How ack on completion runs a handler: how many events at once, and how many deliveries an event gets
/// before a failing handler sends it to the dead-letter queue. Immutable: start from <see cref="Default"/> (or <see cref="Create()"/>, <see cref="Create(int)"/>).
/// </summary>
public sealed class AckOnCompletionSettings
{
    private AckOnCompletionSettings(int parallelism, int maxDeliveries)
    {
        Parallelism = parallelism;
        MaxDeliveries = maxDeliveries;
    }

    /// <summary>Parallelism 1, five deliveries.</summary>
    public static AckOnCompletionSettings Default { get; } = new(1, 5);

    /// <summary>How many events the handler works on at once.</summary>
    public int Parallelism { get; }

    /// <summary>
    /// How many times an event is delivered to a failing handler: it is rejected (tried again) until its delivery
    /// count reaches this number, then dropped to the dead-letter queue with the exception as the reason.
    /// </summary>
    public int MaxDeliveries { get; }

    /// <summary>The <see cref="Default"/> settings, to change with the <c>With*</c> methods.</summary>
    /// <returns>The settings.</returns>
    public static AckOnCompletionSettings Create() => Default;

    /// <summary>The <see cref="Default"/> settings with the given parallelism.</summary>
    /// <param name="parallelism">1 to 10,000.</param>
    /// <returns>The new settings.</returns>
    public static AckOnCompletionSettings Create(int parallelism) => Default.WithParallelism(parallelism);

    /// <summary>A copy with another parallelism.</summary>
    /// <param name="parallelism">1 to 10,000.</param>
    /// <returns>The new settings.</returns>
    public AckOnCompletionSettings WithParallelism(int parallelism)
    {
        if (parallelism is < 1 or > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(parallelism), parallelism, "Parallelism must be between 1 and 10,000 handlers at once.");
        }

        return new AckOnCompletionSettings(parallelism, MaxDeliveries);
    }

    /// <summary>A copy with another delivery limit.</summary>
    /// <param name="maxDeliveries">1 (never retry) to 1,000.</param>
    /// <returns>The new settings.</returns>
    public AckOnCompletionSettings WithMaxDeliveries(int maxDeliveries)
    {
        if (maxDeliveries is < 1 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(maxDeliveries), maxDeliveries, "MaxDeliveries must be between 1 and 1,000.");
        }

        return new AckOnCompletionSettings(Parallelism, maxDeliveries);
    }
}
