using System.Reflection;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Tests;

/// <summary>Every settings type starts the same way: <c>Default</c>, <c>Create()</c> and, where one value is the one most set, <c>Create(n)</c>.</summary>
public sealed class SettingsConventionTests
{
    private static readonly Type[] SettingsTypes =
        [.. typeof(EventBus).Assembly.GetExportedTypes().Where(t => t.Name.EndsWith("Settings", StringComparison.Ordinal))];

    [Fact]
    public void Every_settings_type_but_the_bus_settings_should_have_Default_and_Create_returning_it()
    {
        Assert.Equal(
            ["AckOnCompletionSettings", "EmitSettings", "EventBusSettings", "ListenSettings", "RabbitMqSettings", "RpcCallSettings", "RpcClientSettings"],
            SettingsTypes.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var type in SettingsTypes.Where(t => t != typeof(EventBusSettings)))
        {
            var @default = type.GetProperty("Default", BindingFlags.Public | BindingFlags.Static)?.GetValue(null);
            var create = type.GetMethod("Create", BindingFlags.Public | BindingFlags.Static, Type.EmptyTypes);
            Assert.True(@default is not null && create is not null, $"{type.Name} needs Default and Create()");
            Assert.Same(@default, create.Invoke(null, null));
        }
    }

    [Fact]
    public void Create_with_a_number_should_be_the_default_with_the_value_most_set()
    {
        Assert.Equal(50, ListenSettings.Create(50).Prefetch);
        Assert.Equal(ListenSettings.Default.DrainTimeout, ListenSettings.Create(50).DrainTimeout);
        Assert.Equal(8, AckOnCompletionSettings.Create(8).Parallelism);
        Assert.Equal(AckOnCompletionSettings.Default.MaxDeliveries, AckOnCompletionSettings.Create(8).MaxDeliveries);
        Assert.Equal(64, EmitSettings.Create(64).MaxInFlight);
        Assert.Equal(EmitSettings.Default.Mandatory, EmitSettings.Create(64).Mandatory);
        Assert.Equal(4, RpcCallSettings.Create(4).Parallelism);
        Assert.Equal(RpcCallSettings.Default.Timeout, RpcCallSettings.Create(4).Timeout);
        Assert.Throws<ArgumentOutOfRangeException>(() => ListenSettings.Create(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => EmitSettings.Create(0));
    }

    [Fact]
    public void The_bus_settings_should_have_no_default_because_a_service_name_has_none()
    {
        Assert.Null(typeof(EventBusSettings).GetProperty("Default", BindingFlags.Public | BindingFlags.Static));
        Assert.Equal("booking-api", EventBusSettings.Create("booking-api").ServiceName);
    }
}
