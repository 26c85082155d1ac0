namespace Twyla.Streams.TestKit;

/// <summary>How a <see cref="TwylaTestHost"/> starts a service. Immutable: start from <see cref="Default"/>.</summary>
public sealed class TwylaTestHostSettings
{
    private TwylaTestHostSettings(FakeProcedures? fakeProcedures, IReadOnlyDictionary<string, string?> configuration, TimeSpan startTimeout)
    {
        FakeProcedures = fakeProcedures;
        Configuration = configuration;
        StartTimeout = startTimeout;
    }

    /// <summary>No fake procedures, no configuration of the test's own, 60 s to start.</summary>
    public static TwylaTestHostSettings Default { get; } = new(null, new Dictionary<string, string?>(), TimeSpan.FromSeconds(60));

    /// <summary>The procedures the service's <c>RpcClient</c> calls, or <c>null</c> to keep the client the service registers.</summary>
    public FakeProcedures? FakeProcedures { get; }

    /// <summary>Configuration values the host starts with (before the service configures itself).</summary>
    public IReadOnlyDictionary<string, string?> Configuration { get; }

    /// <summary>How long the host may take to start.</summary>
    public TimeSpan StartTimeout { get; }

    /// <summary>A copy whose host registers an <c>RpcClient</c> served by <paramref name="fakeProcedures"/> (with the settings of the service's own client).</summary>
    /// <param name="fakeProcedures">The fake procedures.</param>
    /// <returns>The new settings.</returns>
    public TwylaTestHostSettings WithFakeProcedures(FakeProcedures fakeProcedures)
    {
        ArgumentNullException.ThrowIfNull(fakeProcedures);
        return new(fakeProcedures, Configuration, StartTimeout);
    }

    /// <summary>A copy with one more configuration value, e.g. <c>Twyla:MaxDeliveries</c>.</summary>
    /// <param name="key">The configuration key (sections separated by <c>:</c>).</param>
    /// <param name="value">The value.</param>
    /// <returns>The new settings.</returns>
    public TwylaTestHostSettings WithConfiguration(string key, string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        return new(FakeProcedures, new Dictionary<string, string?>(Configuration) { [key] = value }, StartTimeout);
    }

    /// <summary>A copy with another start timeout.</summary>
    /// <param name="startTimeout">Above zero.</param>
    /// <returns>The new settings.</returns>
    public TwylaTestHostSettings WithStartTimeout(TimeSpan startTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(startTimeout, TimeSpan.Zero);
        return new(FakeProcedures, Configuration, startTimeout);
    }
}
