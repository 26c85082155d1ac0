using System.Globalization;

namespace Twyla.Streams.Benchmarks;

/// <summary>
/// The RPC benchmark's request. Public, as a service's contracts are: MassTransit treats the exchanges of non-public
/// message types as temporary (non-durable, auto-delete).
/// </summary>
public sealed record Work(int Id, string Customer, int[] Items)
{
    public static Work For(int id) => new(id, "customer-" + (id % 97).ToString(CultureInfo.InvariantCulture), [id % 7, id % 11, id % 13, 42]);

    public WorkResult Process() => new(Id, Customer, Items.Sum());
}
