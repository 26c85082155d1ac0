using System.Text.Json;
using System.Text.Json.Nodes;
using Twyla.Streams.Contracts;

namespace Twyla.Streams.TestKit.Contracts;

/// <summary>
/// Consumer first, made executable: pin the contract the other side relies on in a snapshot file of your repository
/// and fail a test when a change of your payload type would break it. Works with any test framework: a failure is a
/// <see cref="ContractAssertException"/> whose message lists each problem with its path in the payload.
/// </summary>
/// <remarks>
/// <para>
/// A snapshot is a JSON Schema file. When it does not exist, the assertion writes it from the type under test and
/// fails once, so that nobody mistakes a lost snapshot for a passing check: review the file, commit it, run again.
/// To refresh snapshots on purpose (the other side changed, or the change is agreed), run the tests once with the
/// environment variable <see cref="UpdateVariable"/> set to <c>1</c>: every assertion then rewrites its snapshot from
/// the type under test and passes.
/// </para>
/// <para>
/// Pass a path inside your repository, not the test's output folder: walk up from <see cref="AppContext.BaseDirectory"/>
/// to the folder holding your test project file. Not from <c>[CallerFilePath]</c> or <c>__SOURCE_DIRECTORY__</c>: a CI
/// build (<c>ContinuousIntegrationBuild=true</c>) maps source paths to <c>/_/</c>, and the assertion refuses such a path.
/// </para>
/// </remarks>
public static class ContractAssert
{
    /// <summary>The environment variable that rewrites snapshots instead of checking them (<c>1</c> or <c>true</c>).</summary>
    public const string UpdateVariable = "TWYLA_UPDATE_CONTRACT_SNAPSHOTS";

    /// <summary>
    /// My new consumer type still accepts what today's producers send: every payload valid against the producer
    /// contract in <paramref name="snapshotPath"/> is accepted by <typeparamref name="T"/> under the bus's default JSON options.
    /// </summary>
    /// <typeparam name="T">The consumer's payload type.</typeparam>
    /// <param name="snapshotPath">The snapshot of what producers send (written from <typeparamref name="T"/> when missing).</param>
    /// <exception cref="ContractAssertException">The consumer would refuse a payload the producers may send, or the snapshot was just written.</exception>
    public static void ConsumerAccepts<T>(string snapshotPath) => ConsumerAccepts<T>(snapshotPath, EventBusSettings.DefaultJsonOptions);

    /// <summary>
    /// My new consumer type still accepts what today's producers send: every payload valid against the producer
    /// contract in <paramref name="snapshotPath"/> is accepted by <typeparamref name="T"/> read with <paramref name="jsonOptions"/>.
    /// </summary>
    /// <typeparam name="T">The consumer's payload type.</typeparam>
    /// <param name="snapshotPath">The snapshot of what producers send (written from <typeparamref name="T"/> when missing).</param>
    /// <param name="jsonOptions">The JSON options of the consumer's bus (<see cref="EventBusSettings.JsonOptions"/>).</param>
    /// <exception cref="ContractAssertException">The consumer would refuse a payload the producers may send, or the snapshot was just written.</exception>
    public static void ConsumerAccepts<T>(string snapshotPath, JsonSerializerOptions jsonOptions)
    {
        var consumer = SchemaOf<T>(snapshotPath, jsonOptions);
        if (Pinned(snapshotPath, consumer, typeof(T)) is { } producer)
        {
            Throw(ContractCompatibility.Check(producer, consumer), $"The consumer type {typeof(T).Name} no longer accepts everything the producers pinned in {snapshotPath} send");
        }
    }

    /// <summary>
    /// My new producer type still satisfies today's consumers: every payload <typeparamref name="T"/> may produce
    /// under the bus's default JSON options is accepted by the consumer contract in <paramref name="snapshotPath"/>.
    /// </summary>
    /// <typeparam name="T">The producer's payload type.</typeparam>
    /// <param name="snapshotPath">The snapshot of what consumers accept (written from <typeparamref name="T"/> when missing).</param>
    /// <exception cref="ContractAssertException">A consumer would refuse a payload of the producer, or the snapshot was just written.</exception>
    public static void ProducerSatisfies<T>(string snapshotPath) => ProducerSatisfies<T>(snapshotPath, EventBusSettings.DefaultJsonOptions);

    /// <summary>
    /// My new producer type still satisfies today's consumers: every payload <typeparamref name="T"/> may produce
    /// with <paramref name="jsonOptions"/> is accepted by the consumer contract in <paramref name="snapshotPath"/>.
    /// </summary>
    /// <typeparam name="T">The producer's payload type.</typeparam>
    /// <param name="snapshotPath">The snapshot of what consumers accept (written from <typeparamref name="T"/> when missing).</param>
    /// <param name="jsonOptions">The JSON options of the producer's bus (<see cref="EventBusSettings.JsonOptions"/>).</param>
    /// <exception cref="ContractAssertException">A consumer would refuse a payload of the producer, or the snapshot was just written.</exception>
    public static void ProducerSatisfies<T>(string snapshotPath, JsonSerializerOptions jsonOptions)
    {
        var producer = SchemaOf<T>(snapshotPath, jsonOptions);
        if (Pinned(snapshotPath, producer, typeof(T)) is { } consumer)
        {
            Throw(ContractCompatibility.Check(producer, consumer), $"The producer type {typeof(T).Name} no longer satisfies the consumers pinned in {snapshotPath}");
        }
    }

    /// <summary>Every payload valid against <paramref name="producerSchema"/> is valid against <paramref name="consumerSchema"/>.</summary>
    /// <param name="producerSchema">What the producer sends, for example a snapshot or <see cref="ContractSchema.For{T}"/>.</param>
    /// <param name="consumerSchema">What the consumer accepts, for example a discovered consumer contract.</param>
    /// <exception cref="ContractAssertException">The consumer would refuse a payload the producer may send.</exception>
    public static void Compatible(JsonNode producerSchema, JsonNode consumerSchema) =>
        Throw(ContractCompatibility.Check(producerSchema, consumerSchema), "The consumer's contract does not accept everything the producer's allows");

    private static JsonNode SchemaOf<T>(string snapshotPath, JsonSerializerOptions jsonOptions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(snapshotPath);
        ArgumentNullException.ThrowIfNull(jsonOptions);
        ContractSnapshot.RefuseMappedSourcePath(snapshotPath);
        return ContractSchema.For<T>(jsonOptions);
    }

    /// <summary>The pinned contract, or null when the snapshot was (re)written from <paramref name="current"/> on request.</summary>
    private static JsonNode? Pinned(string snapshotPath, JsonNode current, Type type)
    {
        if (ContractSnapshot.UpdateRequested)
        {
            ContractSnapshot.Write(snapshotPath, current);
            return null;
        }

        if (!File.Exists(snapshotPath))
        {
            ContractSnapshot.Write(snapshotPath, current);
            throw new ContractAssertException(
                $"There was no contract snapshot at {snapshotPath}: the contract of {type.Name} has been written there. "
                + "Review it and commit it with your tests; the next run checks against it.");
        }

        return ContractSnapshot.Read(snapshotPath);
    }

    private static void Throw(ContractCompatibilityResult result, string headline)
    {
        if (result.IsCompatible)
        {
            return;
        }

        var problems = string.Concat(result.Problems.Select(p => $"{Environment.NewLine}  {p}"));
        throw new ContractAssertException(
            $"{headline} ({result.Problems.Count} problem{(result.Problems.Count == 1 ? "" : "s")}):{problems}{Environment.NewLine}"
            + $"Make the change additive (a new optional member, a wider type), change consumers first, or, if the other side agreed to the change, refresh the snapshot: run the tests once with {UpdateVariable}=1.",
            result.Problems);
    }
}
