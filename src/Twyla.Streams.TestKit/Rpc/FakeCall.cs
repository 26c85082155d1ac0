namespace Twyla.Streams.TestKit;

/// <summary>One call a fake procedure received.</summary>
/// <param name="Procedure">The qualified name called, <c>service.procedure</c>.</param>
/// <param name="Body">The request body as sent (JSON).</param>
/// <param name="CorrelationId">The correlation id the call carried.</param>
/// <param name="Deadline">The caller's remaining deadline when it sent the call (the <c>X-Deadline-Ms</c> header), if any.</param>
public sealed record FakeCall(string Procedure, string Body, string CorrelationId, TimeSpan? Deadline);
