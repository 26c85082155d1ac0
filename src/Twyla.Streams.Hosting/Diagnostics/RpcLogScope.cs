using System.Collections;

namespace Twyla.Streams.Hosting.Diagnostics;

/// <summary>The log scope around a served procedure: every line its handler logs carries <c>Procedure</c> and <c>CorrelationId</c>.</summary>
internal sealed class RpcLogScope(string procedure, string correlationId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 2;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("Procedure", procedure),
        1 => new("CorrelationId", correlationId),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
        yield return this[1];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"Procedure {procedure}, correlation {correlationId}";
}
