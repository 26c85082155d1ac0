using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.Hosting.Tests.FaultMatrix;

/// <summary>
/// Hosting part of the fault matrix, the broker's TLS certificate rejected at connect (signed by a CA the host does not
/// trust): the host starts, its hosted listener keeps restarting with backoff and both health checks name the
/// certificate; a <c>MapRpcFlow</c> procedure that emits answers every call with a <c>Failure</c>, never a hang.
/// </summary>
public sealed class HostedTlsRejectedTests(ITestOutputHelper output) : HostedFaultSpec(output)
{
    protected override string BrokerUri => Broker.TlsUri;

    [Fact]
    public async Task Rejected_certificate_should_fail_rpc_calls_at_once_and_keep_the_hosted_listener_restarting_with_the_cause_in_health()
    {
        await AssertRefusedAsync("certificate");
    }
}
