using System.Diagnostics;
using Akka.Streams.Dsl;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Rpc;

[Collection(RpcCollection.Name)]
public sealed class RpcResilienceTests(RpcServerFixture server)
{
    [Fact]
    public async Task Flow_should_emit_exactly_one_result_of_the_right_kind_per_request_in_order()
    {
        using var client = server.Client(s => s.WithoutCircuitBreaker());
        // The timeout is generous so that "ok" and "fail" calls never time out on a loaded machine (2 s was seen to
        // run out for a cold first call); the stalls all time out, and with 64 calls in flight they wait out their
        // timeouts side by side (a few rounds of 5 s).
        var settings = RpcCallSettings.Create().WithParallelism(64).WithTimeout(TimeSpan.FromSeconds(5));
        var random = new Random(20261127);
        var jobs = Enumerable.Range(0, 400)
            .Select(i => new Job(i, random.Next(100) switch { < 70 => "ok", < 92 => "fail", _ => "stall" }, $"mixed-{i}"))
            .ToList();

        var results = await Source.From(jobs)
            .Via(client.Flow<Job, Job>("test.mixed", settings))
            .RunWith(Sink.Seq<RpcResult<Job>>(), server.Materializer)
            .WaitAsync(TimeSpan.FromSeconds(90));

        Assert.Equal(jobs.Count, results.Count);
        for (var i = 0; i < jobs.Count; i++)
        {
            switch (jobs[i].Kind, results[i])
            {
                case ("ok", RpcResult<Job>.Success s):
                    Assert.Equal(jobs[i], s.Value);
                    break;
                case ("fail", RpcResult<Job>.Failure f):
                    Assert.Equal(("planned_failure", 422), (f.Code, f.Status));
                    Assert.Contains($"job {i} ", f.Message, StringComparison.Ordinal);
                    break;
                case ("stall", RpcResult<Job>.Timeout):
                    break;
                default:
                    Assert.Fail($"request {i} ({jobs[i].Kind}) got {results[i]}");
                    break;
            }
        }
    }

    [Fact]
    public async Task Flow_should_keep_at_most_parallelism_calls_in_flight()
    {
        using var client = server.Client(s => s);
        var jobs = Enumerable.Range(0, 40).Select(i => new Job(i, "gate", "gate")).ToList();

        var results = await Source.From(jobs)
            .Via(client.Flow<Job, Job>("test.gate", RpcCallSettings.Create().WithParallelism(RpcServerFixture.GateTarget)))
            .RunWith(Sink.Seq<RpcResult<Job>>(), server.Materializer);

        Assert.Equal(jobs, results.Select(r => Assert.IsType<RpcResult<Job>.Success>(r).Value));
        Assert.Equal(RpcServerFixture.GateTarget, Volatile.Read(ref server.GateMaxConcurrent));
    }

    [Fact]
    public async Task CallAsync_should_not_retry_a_procedure_that_is_not_idempotent()
    {
        using var client = server.Client(s => s.WithoutCircuitBreaker());
        var key = Guid.NewGuid().ToString("N");

        var result = await client.CallAsync<Job, Job>("test.flaky", new Job(2, "flaky", key), CancellationToken.None);

        var failure = Assert.IsType<RpcResult<Job>.Failure>(result);
        Assert.Equal(("unavailable", 503), (failure.Code, failure.Status));
        Assert.Single(server.Attempts[key]);
    }

    [Fact]
    public async Task CallAsync_should_retry_an_idempotent_procedure_with_backoff_until_it_succeeds()
    {
        using var client = server.Client(s => s.WithoutCircuitBreaker());
        var key = Guid.NewGuid().ToString("N");
        var settings = RpcCallSettings.Create().WithIdempotent(true)
            .WithRetries(4, TimeSpan.FromMilliseconds(40), TimeSpan.FromMilliseconds(500));

        var result = await client.CallAsync<Job, Job>("test.flaky", new Job(2, "flaky", key), settings, CancellationToken.None);

        Assert.IsType<RpcResult<Job>.Success>(result);
        var attempts = server.Attempts[key].ToArray();
        Assert.Equal(3, attempts.Length);
        var firstGap = attempts[1] - attempts[0];
        var secondGap = attempts[2] - attempts[1];
        // 20-40 ms and 40-80 ms with jitter; the upper bound only catches a backoff of the wrong unit (seconds), as
        // timers and the thread pool run late on a loaded machine.
        Assert.InRange(firstGap, TimeSpan.FromMilliseconds(15), TimeSpan.FromSeconds(10));
        Assert.InRange(secondGap, TimeSpan.FromMilliseconds(35), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task CallAsync_should_stop_retrying_before_the_deadline()
    {
        using var client = server.Client(s => s.WithoutCircuitBreaker());
        var key = Guid.NewGuid().ToString("N");
        var timeout = TimeSpan.FromMilliseconds(1500);
        var settings = RpcCallSettings.Create().WithIdempotent(true).WithTimeout(timeout)
            .WithRetries(1000, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200));
        var started = Stopwatch.GetTimestamp();

        var result = await client.CallAsync<Job, Job>("test.flaky", new Job(int.MaxValue, "flaky", key), settings, CancellationToken.None);

        var elapsed = Stopwatch.GetElapsedTime(started);
        // Either the next backoff would have passed the deadline (the last Failure is returned early), or the
        // last attempt was still in flight at the deadline (Timeout): never a result or an attempt after it.
        Assert.True(
            result is RpcResult<Job>.Failure { Code: "unavailable" } or RpcResult<Job>.Timeout,
            $"expected the last failure or a timeout, got {result}");
        // Without the deadline the 1,000 retries would take minutes; the tolerance is for timers that fire late on a
        // loaded 2-core machine (400 ms was not always enough).
        var tolerance = TimeSpan.FromSeconds(5);
        Assert.True(elapsed < timeout + tolerance, $"the call ended after {elapsed}, past its {timeout} deadline, with {result}; attempts at {string.Join(", ", server.Attempts[key])}");
        var attempts = server.Attempts[key].ToArray();
        Assert.InRange(attempts.Length, 2, 30); // ~8 with 100-200 ms backoffs on an idle machine
        Assert.All(attempts, at => Assert.True(at < timeout + tolerance, $"an attempt arrived {at} after the first, past the deadline"));
    }

    [Fact]
    public async Task Circuit_breaker_should_open_after_repeated_failures_short_circuit_and_close_again()
    {
        var breakDuration = TimeSpan.FromMilliseconds(600);
        using var client = server.Client(s => s.WithCircuitBreaker(0.5, 4, TimeSpan.FromSeconds(10), breakDuration));
        server.BreakerServiceHealthy = false;
        var job = new Job(1, "breaker", "breaker");

        for (var i = 0; i < 4; i++)
        {
            var failure = Assert.IsType<RpcResult<Job>.Failure>(await client.CallAsync<Job, Job>("test.breaker", job, CancellationToken.None));
            Assert.Equal(503, failure.Status);
        }

        var callsBefore = Volatile.Read(ref server.BreakerServiceCalls);
        var shortCircuited = Assert.IsType<RpcResult<Job>.Failure>(await client.CallAsync<Job, Job>("test.breaker", job, CancellationToken.None));
        Assert.Equal((RpcFailureCodes.CircuitOpen, 0), (shortCircuited.Code, shortCircuited.Status));
        Assert.Equal(callsBefore, Volatile.Read(ref server.BreakerServiceCalls));

        server.BreakerServiceHealthy = true;
        await Task.Delay(breakDuration + TimeSpan.FromMilliseconds(200)); // the break duration must pass: nothing to await but time

        Assert.IsType<RpcResult<Job>.Success>(await client.CallAsync<Job, Job>("test.breaker", job, CancellationToken.None));
        Assert.IsType<RpcResult<Job>.Success>(await client.CallAsync<Job, Job>("test.breaker", job, CancellationToken.None));
        Assert.Equal(callsBefore + 2, Volatile.Read(ref server.BreakerServiceCalls));
    }
}
