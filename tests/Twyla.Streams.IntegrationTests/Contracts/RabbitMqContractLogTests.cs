using Twyla.Streams.Contracts;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.IntegrationTests.Contracts;

/// <summary>
/// The contract log's appends: a service with many listeners announces hundreds of contracts at start-up, and each
/// append must be one publish on the log's channel, not a channel and a declaration of its own one after another.
/// </summary>
public sealed class RabbitMqContractLogTests
{
    private const int Appends = 40;

    [Fact]
    public async Task Concurrent_appends_should_all_be_stored_through_one_channel_that_declared_the_log_once()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var log = new RabbitMqContractLog(transport);
        var group = TestEvents.Group();
        var records = Enumerable.Range(0, Appends).Select(i => ContractRecord.Retired($"contract.log-{i}", group, "log-tests")).ToArray();

        await Task.WhenAll(records.Select(r => log.AppendAsync(r, CancellationToken.None))).WaitAsync(Documented.Hang);

        var stored = await log.ReadAsync(CancellationToken.None).WaitAsync(Documented.Hang);
        Assert.Equal(records.Select(r => r.Pattern).Order(), stored.Where(r => r.Group == group).Select(r => r.Pattern).Order());
        Assert.Equal(1, log.ChannelsOpened); // before: one channel and one declaration per append
    }
}
