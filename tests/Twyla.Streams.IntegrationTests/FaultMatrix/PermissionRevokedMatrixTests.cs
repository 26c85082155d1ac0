using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.FaultMatrix;

/// <summary>
/// Fault matrix, a permission revoked while running, then restored: every entry point at once, as a user of the
/// test's own on the shared node (no other test is touched). The broker checks a channel's permissions when the
/// channel first uses a resource and caches the answer, so an operator who revokes access also closes the user's
/// connections; the library must then see the refusal on reconnecting.
/// </summary>
public class PermissionRevokedMatrixTests(ITestOutputHelper output) : FaultMatrixSpec(output)
{
    [Fact]
    public async Task Permissions_revoked_should_fail_each_entry_point_as_documented_and_each_should_recover_by_itself_once_restored()
    {
        var node = RabbitNode.Shared;
        var user = "matrix-" + Guid.NewGuid().ToString("N")[..10];
        const string password = "matrix-secret-1";
        await node.AddUserAsync(user, password, ".*", ".*", ".*");
        try
        {
            await using var bus = Bus(Broker.Settings(node.UriFor(user, password)));
            await using var run = await StartEntryPointsAsync(bus);

            await node.ClearPermissionsAsync(user);
            await node.CloseUserConnectionsAsync(user);
            try
            {
                await run.AssertFailedAsync(emitAsyncFails: true, listenerFails: true);
            }
            finally
            {
                await node.SetPermissionsAsync(user, ".*", ".*", ".*");
            }

            await run.AssertRecoveredAsync(DateTime.UtcNow);
        }
        finally
        {
            await node.DeleteUserAsync(user);
        }
    }
}
