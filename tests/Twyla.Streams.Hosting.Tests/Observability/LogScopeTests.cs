using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Observability;

/// <summary>
/// A line a handler logs through the user's own <see cref="ILogger"/> carries the event's id, name, correlation id and
/// delivery count in its scope; a line a served procedure logs carries the procedure and the correlation id.
/// </summary>
public sealed class LogScopeTests
{
    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task Lines_logged_by_handlers_and_procedures_should_carry_the_event_or_call_in_their_scope()
    {
        var logs = new ScopeCapture();
        var name = "obs" + Guid.NewGuid().ToString("N")[..8] + ".logged";
        var procedure = "obs_logged_" + Guid.NewGuid().ToString("N")[..8];
        await using var host = await ObservedHost.StartAsync(
            "obs-logs",
            "twyla.obs-logs." + Guid.NewGuid().ToString("N")[..12],
            akka => akka.WithTwylaScopedListener<Booking>(name, "logged", (services, e) =>
            {
                services.GetRequiredService<ILogger<LogScopeTests>>().LogInformation("handling booking {N}", e.Payload.N);
                return Task.CompletedTask;
            }),
            app => app.MapRpc<string, string>(procedure, (text, _) =>
            {
                app.Services.GetRequiredService<ILogger<LogScopeTests>>().LogInformation("serving {Text}", text);
                return Task.FromResult(text);
            }),
            logs: logs);
        await host.Bus.DeclareGroupAsync(name, "logged", Events.ListenSettings.Default, Ct);

        var emitted = await host.Bus.EmitAsync(name, new Booking("b-7", 7), Ct);
        await ObservabilityMetricsTests.WaitUntilAsync(() => logs.Lines.Any(l => l.Message == "handling booking 7"));
        var handled = logs.Lines.Single(l => l.Message == "handling booking 7").Scope;
        Assert.Equal(emitted.Id, handled["EventId"]);
        Assert.Equal(name, handled["EventName"]);
        Assert.Equal(emitted.CorrelationId, handled["CorrelationId"]);
        Assert.Equal(1, handled["DeliveryCount"]);

        using var client = new RpcClient(RpcClientSettings.Create().WithService("obs-logs", host.Address));
        var result = await client.CallAsync<string, string>(
            $"obs-logs.{procedure}", "ping", RpcCallSettings.Create().WithCorrelationId("corr-obs-logs-1"), Ct);
        Assert.IsType<RpcResult<string>.Success>(result);
        var served = logs.Lines.Single(l => l.Message == "serving ping").Scope;
        Assert.Equal(procedure, served["Procedure"]);
        Assert.Equal("corr-obs-logs-1", served["CorrelationId"]);
        Assert.False(served.ContainsKey("EventId"));
    }

    [Fact]
    public async Task The_librarys_logs_should_carry_no_payload_or_credentials_and_its_metrics_no_event_ids()
    {
        const string Secret = "s3cret-payload-7f1";
        var logs = new ScopeCapture();
        var name = "obs" + Guid.NewGuid().ToString("N")[..8] + ".private";
        var exchange = "twyla.obs-private." + Guid.NewGuid().ToString("N")[..12];
        await using var host = await ObservedHost.StartAsync(
            "obs-private",
            exchange,
            akka => akka.WithTwylaListener<Booking>(
                name,
                "private",
                e => e.Payload.N == 2 ? throw new InvalidOperationException("refused on purpose") : Task.CompletedTask,
                new TwylaListenerOptions { MaxDeliveries = 1 }),
            _ => { },
            logs: logs);
        await host.Bus.DeclareGroupAsync(name, "private", Events.ListenSettings.Default, Ct);

        // Handled, failed then dead-lettered, and an invalid payload: every path that logs about an event.
        var ids = new List<string>
        {
            (await host.Bus.EmitAsync(name, new Booking(Secret, 1), Ct)).Id,
            (await host.Bus.EmitAsync(name, new Booking(Secret, 2), Ct)).Id,
            (await host.Bus.EmitAsync(name, new { Id = Secret, N = Secret }, Ct)).Id,
        };
        await ObservabilityMetricsTests.WaitUntilAsync(() => host.Sum(TwylaTelemetry.SettledMessages, (TelemetryTags.Destination, exchange)) == 3);
        await ObservabilityMetricsTests.WaitUntilAsync(() => logs.Lines.Count(l => l.Message.Contains("dead-letter", StringComparison.OrdinalIgnoreCase)) >= 2);

        var userInfo = new Uri(Broker.Uri).UserInfo;
        Assert.DoesNotContain(logs.Lines, l => l.Message.Contains(Secret, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => userInfo.Length > 0 && l.Message.Contains(userInfo, StringComparison.Ordinal));
        foreach (var metric in new[] { TwylaTelemetry.SentMessages, TwylaTelemetry.ConsumedMessages, TwylaTelemetry.SettledMessages, TwylaTelemetry.ProcessDuration, TwylaTelemetry.EventAge })
        {
            foreach (var point in host.Points(metric))
            {
                foreach (var tag in point.Tags)
                {
                    Assert.DoesNotContain(tag.Value as string, ids); // low cardinality: no event id in a tag
                    Assert.NotEqual(Secret, tag.Value as string);
                }
            }
        }
    }

    /// <summary>A logger provider that keeps each line with the values of every scope around it.</summary>
    internal sealed class ScopeCapture : ILoggerProvider, ISupportExternalScope
    {
        private readonly ConcurrentQueue<(string Message, IReadOnlyDictionary<string, object?> Scope)> _lines = new();
        private readonly ConcurrentQueue<(Exception Exception, IReadOnlyDictionary<string, object?> Scope)> _failures = new();
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public IReadOnlyList<(string Message, IReadOnlyDictionary<string, object?> Scope)> Lines => [.. _lines];

        /// <summary>The lines logged with an exception: the exception and the scope.</summary>
        public IReadOnlyList<(Exception Exception, IReadOnlyDictionary<string, object?> Scope)> Failures => [.. _failures];

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(ScopeCapture capture) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => capture._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scope = new Dictionary<string, object?>();
                capture._scopes.ForEachScope(
                    static (value, into) =>
                    {
                        if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
                        {
                            foreach (var (key, item) in pairs)
                            {
                                into[key] = item;
                            }
                        }
                    },
                    scope);
                capture._lines.Enqueue((formatter(state, exception), scope));
                if (exception is not null)
                {
                    capture._failures.Enqueue((exception, scope));
                }
            }
        }
    }
}
