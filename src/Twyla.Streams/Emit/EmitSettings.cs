namespace Twyla.Streams.Emit;

/// <summary>
/// How an emit sink or flow publishes: how many events may await their confirm at once, whether an event nobody
/// listens to is an error, the contract check and the data version. How long a confirm may take is the bus's
/// (<c>RabbitMqSettings.ConfirmTimeout</c>). Immutable: start from <see cref="Default"/> (or <see cref="Create()"/>, <see cref="Create(int)"/>).
/// </summary>
public sealed class EmitSettings
{
    private EmitSettings(int maxInFlight, bool mandatory, bool checkContracts, int? dataVersion)
    {
        MaxInFlight = maxInFlight;
        Mandatory = mandatory;
        CheckContracts = checkContracts;
        DataVersion = dataVersion;
    }

    /// <summary>256 in flight, not mandatory, no contract check, the payload type's data version.</summary>
    public static EmitSettings Default { get; } = new(256, mandatory: false, checkContracts: false, dataVersion: null);

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

    /// <summary>A copy where emitting an event nobody listens to fails (or not).</summary>
    /// <param name="mandatory">Whether unroutable events are errors.</param>
    /// <returns>The new settings.</returns>
    public EmitSettings WithMandatory(bool mandatory) => Copy(mandatory: mandatory);

    /// <summary>
    /// Whether each event is checked against the contracts the groups receiving it announced before it is sent: a payload
    /// one of them would dead-letter fails the emit with <see cref="EmitException"/> naming the group, its service and the
    /// member, and is not sent. The contracts are discovered at the first emit of each event name and refreshed in the
    /// background every 30 s (no broker round trip per event). Off by default.
    /// </summary>
    public bool CheckContracts { get; }

    /// <summary>
    /// The data version the events of an <see cref="EventBus.Emit{T}(string, EmitSettings)"/> sink carry; <c>null</c> (the
    /// default): the version declared on the payload type (<see cref="Contracts.ContractVersionAttribute"/>, 1 without one).
    /// Outgoing events (<see cref="EventBus.EmitEvents{T}(EmitSettings)"/>, <see cref="EventBus.EmitFlow{T}(EmitSettings)"/>)
    /// carry their own <see cref="OutgoingEvent{T}.Version"/>.
    /// </summary>
    public int? DataVersion { get; }

    /// <summary>A copy that checks each event against the discovered consumer contracts before it is sent (or not).</summary>
    /// <param name="checkContracts">Whether to check; see <see cref="CheckContracts"/>.</param>
    /// <returns>The new settings.</returns>
    public EmitSettings WithContractCheck(bool checkContracts) => Copy(checkContracts: checkContracts);

    /// <summary>A copy whose <see cref="EventBus.Emit{T}(string, EmitSettings)"/> sinks emit data version <paramref name="dataVersion"/>.</summary>
    /// <param name="dataVersion">The data version, at least 1.</param>
    /// <returns>The new settings.</returns>
    public EmitSettings WithDataVersion(int dataVersion)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dataVersion, 1);
        return new(MaxInFlight, Mandatory, CheckContracts, dataVersion);
    }

    private EmitSettings Copy(int? maxInFlight = null, bool? mandatory = null, bool? checkContracts = null) =>
        new(maxInFlight ?? MaxInFlight, mandatory ?? Mandatory, checkContracts ?? CheckContracts, DataVersion);
}
