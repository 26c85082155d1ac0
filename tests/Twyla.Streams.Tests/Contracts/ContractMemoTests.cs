using Twyla.Streams.Contracts;
using Xunit;

namespace Twyla.Streams.Tests.Contracts;

/// <summary>
/// What a bus remembers having stored in the contract log: an unchanged contract is stored once, and everything is
/// stored again after the log lost it (a running service whose log was deleted used to stay off the log until it restarted).
/// </summary>
public sealed class ContractMemoTests
{
    [Fact]
    public void An_unchanged_contract_should_be_stored_once_and_a_changed_one_again()
    {
        var memo = new ContractMemo();

        Assert.NotNull(memo.Begin(Group("ledger", "h1")));
        Assert.Null(memo.Begin(Group("ledger", "h1"))); // the listener restarted with the same type
        Assert.NotNull(memo.Begin(Group("ledger", "h2")));
        Assert.NotNull(memo.Begin(Group("audit", "h1")));
    }

    [Fact]
    public void After_the_log_was_lost_every_group_and_version_should_be_stored_again_but_not_a_retired_group()
    {
        var memo = new ContractMemo();
        memo.Begin(Group("ledger", "h1"));
        memo.Begin(Group("ledger", "h2"));
        memo.Begin(Group("audit", "h1"));
        memo.Begin(Group("old", "h1"));
        memo.Retired(Group("old", "h1").GroupKey);
        Assert.True(memo.FirstProduced("invoice.created", 2));
        Assert.False(memo.FirstProduced("invoice.created", 2));

        var (groups, produced) = memo.Forget();

        Assert.Equal(["audit:h1", "ledger:h2"], groups.Select(g => $"{g.Group}:{g.Hash}").Order());
        Assert.Equal([("invoice.created", 2)], produced);
        Assert.NotNull(memo.Begin(Group("ledger", "h2")));
        Assert.True(memo.FirstProduced("invoice.created", 2));
        Assert.Null(memo.Begin(Group("ledger", "h2")));
    }

    [Fact]
    public void A_failed_attempt_should_be_tried_again_at_the_next_start_unless_a_newer_attempt_runs()
    {
        var memo = new ContractMemo();
        var failed = memo.Begin(Group("ledger", "h1"))!;
        memo.Failed(failed);
        var again = memo.Begin(Group("ledger", "h1"));
        Assert.NotNull(again);

        memo.Forget(); // the log was lost while that attempt ran: a new attempt starts, then the old one fails
        var newer = memo.Begin(Group("ledger", "h1"))!;
        memo.Failed(again);

        Assert.Null(memo.Begin(Group("ledger", "h1")));
        memo.Failed(newer);
        Assert.NotNull(memo.Begin(Group("ledger", "h1")));
    }

    private static ContractRecord Group(string group, string hash) => new()
    {
        Kind = ContractRecord.GroupKind,
        Service = "billing",
        Pattern = "invoice.*",
        Group = group,
        Hash = hash,
    };
}
