namespace Twyla.Streams.Emit;

/// <summary>
/// How an emit sink or flow publishes: how many events may await their confirm at once, how long a confirm
/// may take, and whether an event nobody listens to is an error. Immutable: start from <see cref="Default"/> (or <see cref="Create()"/>, <see cref="Create(int)"/>).
/// </summary>
public sealed class EmitSettings
{
    private EmitSettings(int maxInFlight, TimeSpan confirmTimeout, bool mandatory)
    {
        MaxInFlight = maxInFlight;
        ConfirmTimeout = confirmTimeout;
        Mandatory = mandatory;
    }

    /// <summary>256 in flight, 30 s confirm timeout, not mandatory.</summary>
    public static EmitSettings Default { get; } = new(256, TimeSpan.FromSeconds(30), mandatory: false);

    /// <summary>The <see cref="Default"/> settings, to change with the <c>With*</c> methods.</summary>
    /// <returns>The settings.</returns>
    public static EmitSettings Create() => Default;

    /// <summary>The <see cref="Default"/> settings with another in-flight bound.</summary>
    /// <param name="maxInFlight">1 to 65,535.</param>
    /// <returns>The settings.</returns>
    public static EmitSettings Create(int maxInFlight) => Default.WithMaxInFlight(maxInFlight);

    /// <summary>
    /// How many events may await their broker confirm at once (backpressure beyond that). The one in-flight bound:
    /// <c>EventBus.EmitAsync</c> keeps the default's (256) across its calls.
    /// </summary>
    public int MaxInFlight { get; }

    /// <summary>How long the broker may take to confirm an event before the emit fails.</summary>
    public TimeSpan ConfirmTimeout { get; }

    /// <summary>Whether emitting an event that no queue is bound to fails (instead of being dropped by the broker).</summary>
    public bool Mandatory { get; }

    /// <summary>A copy with another in-flight bound.</summary>
    /// <param name="maxInFlight">1 to 65,535.</param>
    /// <returns>The new settings.</returns>
    public EmitSettings WithMaxInFlight(int maxInFlight)
    {
        if (maxInFlight is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(maxInFlight), maxInFlight, "MaxInFlight must be between 1 and 65,535.");
        }

        return Copy(maxInFlight: maxInFlight);
    }

    /// <summary>A copy with another confirm timeout.</summary>
    /// <param name="confirmTimeout">Positive.</param>
    /// <returns>The new settings.</returns>
    public EmitSettings WithConfirmTimeout(TimeSpan confirmTimeout)
    {
        if (confirmTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(confirmTimeout), confirmTimeout, "The confirm timeout must be positive.");
        }

        return Copy(confirmTimeout: confirmTimeout);
    }

    /// <summary>A copy where emitting an event nobody listens to fails (or not).</summary>
    /// <param name="mandatory">Whether unroutable events are errors.</param>
    /// <returns>The new settings.</returns>
    public EmitSettings WithMandatory(bool mandatory) => Copy(mandatory: mandatory);

    private EmitSettings Copy(int? maxInFlight = null, TimeSpan? confirmTimeout = null, bool? mandatory = null) =>
        new(maxInFlight ?? MaxInFlight, confirmTimeout ?? ConfirmTimeout, mandatory ?? Mandatory);
}
