using Twyla.Streams.Rpc;
using Twyla.Streams.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.Hosting.Tests.FaultMatrix;

/// <summary>A user of the test class's own on the shared node, allowed everything until a test revokes it.</summary>
public sealed class MatrixUser : IAsyncLifetime
{
    public const string Password = "matrix-secret-2";

    public string Name { get; } = "hosted-matrix-" + Guid.NewGuid().ToString("N")[..10];

    public RabbitNode Node { get; } = RabbitNode.Shared;

    public Task AllowAsync() => Node.SetPermissionsAsync(Name, ".*", ".*", ".*");

    public async Task InitializeAsync() => await Node.AddUserAsync(Name, Password, ".*", ".*", ".*");

    public async Task DisposeAsync() => await Node.DeleteUserAsync(Name);
}

/// <summary>
/// Hosting part of the fault matrix: the host's permissions revoked while running (and its connections closed, as an
/// operator does: open channels keep the permissions they cached), then restored.
/// </summary>
public sealed class HostedPermissionFaultTests(ITestOutputHelper output, MatrixUser user)
    : HostedFaultSpec(output), IClassFixture<MatrixUser>
{
    protected override string BrokerUri => user.Node.UriFor(user.Name, MatrixUser.Password);

    [Fact]
    public async Task Permissions_revoked_should_fail_rpc_calls_and_the_hosted_listener_should_handle_every_confirmed_event_once_restored()
    {
        await RunAsync(
            async () =>
            {
                await user.Node.ClearPermissionsAsync(user.Name);
                await user.Node.CloseUserConnectionsAsync(user.Name);
            },
            user.AllowAsync,
            result => Assert.IsType<RpcResult<Billed>.Failure>(result));
    }
}
