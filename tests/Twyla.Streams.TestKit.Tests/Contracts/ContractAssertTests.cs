using System.Text.Json.Nodes;
using Twyla.Streams.Contracts;
using Twyla.Streams.TestKit.Contracts;
using Xunit;

namespace Twyla.Streams.TestKit.Tests.Contracts;

/// <summary>
/// Snapshots of contracts in files: written when missing (and the test fails once), checked afterwards, rewritten
/// on purpose with the environment variable. The tests of this class run one after the other (one xunit class), so the
/// one that sets the variable cannot disturb the others.
/// </summary>
public sealed class ContractAssertTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "twyla-contracts-" + Guid.NewGuid().ToString("N"));

    public sealed record BookingV1(string Pnr, int Seats, string? Note);

    public sealed record BookingWithOptionalChannel(string Pnr, int Seats, string? Note, string? Channel = null);

    public sealed record BookingWithRequiredChannel(string Pnr, int Seats, string? Note, string Channel);

    public sealed record BookingWithoutSeats(string Pnr, string? Note);

    public sealed record BookingWithOptionalSeats(string Pnr, int? Seats, string? Note);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(ContractAssert.UpdateVariable, null);
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public void A_missing_snapshot_should_be_written_from_the_type_and_fail_once()
    {
        var path = Path.Combine(_folder, "contracts", "booking.producer.json");

        var first = Assert.Throws<ContractAssertException>(() => ContractAssert.ConsumerAccepts<BookingV1>(path));

        Assert.Contains($"no contract snapshot at {path}", first.Message, StringComparison.Ordinal);
        Assert.Empty(first.Problems);
        Assert.True(JsonNode.DeepEquals(ContractSchema.For<BookingV1>(EventBusSettings.DefaultJsonOptions), JsonNode.Parse(File.ReadAllText(path))));
        Assert.EndsWith("}\n", File.ReadAllText(path), StringComparison.Ordinal);
        ContractAssert.ConsumerAccepts<BookingV1>(path); // the next run checks against it
    }

    [Fact]
    public void A_consumer_that_only_adds_an_optional_member_should_still_accept_what_producers_send()
    {
        var producers = Pin<BookingV1>("booking.producer.json");

        ContractAssert.ConsumerAccepts<BookingWithOptionalChannel>(producers, EventBusSettings.DefaultJsonOptions);
    }

    [Fact]
    public void A_consumer_that_requires_a_new_member_should_fail_naming_the_member()
    {
        var producers = Pin<BookingV1>("booking.producer.json");

        var failure = Assert.Throws<ContractAssertException>(() => ContractAssert.ConsumerAccepts<BookingWithRequiredChannel>(producers));

        var problem = Assert.Single(failure.Problems);
        Assert.Equal("/channel", problem.Path);
        Assert.Contains("BookingWithRequiredChannel no longer accepts", failure.Message, StringComparison.Ordinal);
        Assert.Contains("/channel: the consumer requires this member, but the producer does not send it", failure.Message, StringComparison.Ordinal);
        Assert.Contains(ContractAssert.UpdateVariable, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_producer_that_adds_a_member_should_still_satisfy_todays_consumers()
    {
        var consumers = Pin<BookingV1>("booking.consumer.json");

        ContractAssert.ProducerSatisfies<BookingWithRequiredChannel>(consumers);
    }

    [Fact]
    public void A_producer_that_drops_or_loosens_a_required_member_should_fail_with_each_path()
    {
        var consumers = Pin<BookingV1>("booking.consumer.json");

        var dropped = Assert.Throws<ContractAssertException>(() => ContractAssert.ProducerSatisfies<BookingWithoutSeats>(consumers));
        var loosened = Assert.Throws<ContractAssertException>(() => ContractAssert.ProducerSatisfies<BookingWithOptionalSeats>(consumers));

        Assert.Equal("/seats", Assert.Single(dropped.Problems).Path);
        Assert.Contains("BookingWithoutSeats no longer satisfies the consumers pinned in", dropped.Message, StringComparison.Ordinal);
        Assert.Contains("/seats: the consumer requires this member, but the producer does not send it", dropped.Message, StringComparison.Ordinal);
        Assert.Contains("/seats: the producer may send null", loosened.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_update_variable_should_rewrite_the_snapshot_on_purpose()
    {
        var consumers = Pin<BookingV1>("booking.consumer.json");
        Environment.SetEnvironmentVariable(ContractAssert.UpdateVariable, "1");

        ContractAssert.ProducerSatisfies<BookingWithoutSeats>(consumers);

        Environment.SetEnvironmentVariable(ContractAssert.UpdateVariable, null);
        Assert.DoesNotContain("seats", File.ReadAllText(consumers), StringComparison.Ordinal);
        ContractAssert.ProducerSatisfies<BookingWithoutSeats>(consumers); // checked against the new snapshot now
    }

    [Fact]
    public void A_snapshot_that_is_not_json_should_fail_naming_the_file()
    {
        var path = Path.Combine(_folder, "broken.json");
        Directory.CreateDirectory(_folder);
        File.WriteAllText(path, "{ not json");

        var failure = Assert.Throws<ContractAssertException>(() => ContractAssert.ConsumerAccepts<BookingV1>(path));

        Assert.Contains($"The contract snapshot {path} is not valid JSON", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/_/tests/Billing.Tests/contracts/order-placed.json")]
    [InlineData("/_1/Billing.Tests/contracts/order-placed.json")]
    public void A_snapshot_path_mapped_by_a_CI_build_should_fail_naming_the_cause_and_write_nothing(string path)
    {
        // [CallerFilePath] and __SOURCE_DIRECTORY__ give /_/... under ContinuousIntegrationBuild=true (CI=true):
        // the snapshot would be "missing" on CI only, or written outside the repository.
        var consumer = Assert.Throws<ContractAssertException>(() => ContractAssert.ConsumerAccepts<BookingV1>(path));
        var producer = Assert.Throws<ContractAssertException>(() => ContractAssert.ProducerSatisfies<BookingV1>(path));

        Assert.Contains("mapped source path", consumer.Message, StringComparison.Ordinal);
        Assert.Contains("AppContext.BaseDirectory", producer.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Two_schemas_should_be_asserted_compatible_directly()
    {
        var producer = ContractSchema.For<BookingWithOptionalSeats>(EventBusSettings.DefaultJsonOptions);
        var consumer = ContractSchema.For<BookingV1>(EventBusSettings.DefaultJsonOptions);

        ContractAssert.Compatible(consumer, producer);
        var failure = Assert.Throws<ContractAssertException>(() => ContractAssert.Compatible(producer, consumer));
        Assert.Equal("/seats", Assert.Single(failure.Problems).Path);
        Assert.Contains("/seats: the producer may send null", failure.Message, StringComparison.Ordinal);
    }

    /// <summary>Writes the snapshot of <typeparamref name="T"/> the way a team does the first time.</summary>
    private string Pin<T>(string fileName)
    {
        var path = Path.Combine(_folder, fileName);
        Assert.Throws<ContractAssertException>(() => ContractAssert.ConsumerAccepts<T>(path));
        return path;
    }
}
