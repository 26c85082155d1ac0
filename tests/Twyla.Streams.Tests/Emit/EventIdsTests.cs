using Twyla.Streams.Emit;
using Xunit;

namespace Twyla.Streams.Tests.Emit;

public sealed class EventIdsTests
{
    [Fact]
    public void NewId_should_make_unique_version_7_ids_that_sort_in_creation_order()
    {
        var ids = Enumerable.Range(0, 20_000).Select(_ => EventIds.NewId()).ToList();

        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.All(ids.Take(100), id =>
        {
            var guid = Guid.Parse(id);
            Assert.Equal(7, guid.Version);
            Assert.Equal(0b10, guid.Variant >> 2);
        });
        var ms = Convert.ToInt64(ids[^1].Replace("-", "", StringComparison.Ordinal)[..12], 16);
        Assert.InRange(DateTimeOffset.FromUnixTimeMilliseconds(ms), DateTimeOffset.UtcNow.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(5));
    }
}
