using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Twyla.Streams.Benchmarks.Events;
using Twyla.Streams.Hosting;

namespace Twyla.Streams.Benchmarks.Listeners;

/// <summary>
/// The start-up of the same listeners in a hosted service (<c>AddTwyla</c> + <c>WithTwylaListener</c>, configuration
/// as a user writes it): the time <c>IHost.StartAsync</c> takes, and until the broker reports a consumer on every
/// listener's queue (the hosted listeners have no ready signal of their own; the harness asks the broker queue by
/// queue, which adds a round trip per queue at most); then the time <c>IHost.StopAsync</c> takes (the listeners drain).
/// </summary>
internal static class HostedStartUp
{
    public static async Task<(TimeSpan HostStarted, TimeSpan AllConsuming, TimeSpan Stopped)> MeasureAsync(
        string uri, string exchange, Broker broker, IReadOnlyList<string> eventNames, ILoggerProvider logging, ListenersOptions options)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logging);
        builder.Configuration["Twyla:ServiceName"] = "twyla-bench-hosted";
        builder.Configuration["Twyla:Transport"] = "RabbitMq";
        builder.Configuration["Twyla:Amqp:Uri"] = uri;
        builder.Configuration["Twyla:Exchange"] = exchange;
        builder.Configuration["Twyla:Prefetch"] = options.Prefetch.ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.Configuration["Twyla:Parallelism"] = options.Parallelism.ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.AddTwyla(akka =>
        {
            foreach (var name in eventNames)
            {
                akka.WithTwylaListener<BookingConfirmed>(name, ListenerFleet.Group, _ => Task.CompletedTask);
            }
        });
        using var host = builder.Build();
        var start = Stopwatch.GetTimestamp();
        await host.StartAsync();
        var hostStarted = Stopwatch.GetElapsedTime(start);
        await WaitForConsumersAsync(broker.Connection, eventNames.Select(n => ListenerFleet.Topology(n).QueueName), TimeSpan.FromMinutes(2));

        var allConsuming = Stopwatch.GetElapsedTime(start);
        var stopping = Stopwatch.GetTimestamp();
        await host.StopAsync();
        return (hostStarted, allConsuming, Stopwatch.GetElapsedTime(stopping));
    }

    /// <summary>Waits until each queue exists and has a consumer (a passive declaration of a missing queue closes the channel: a new one then).</summary>
    private static async Task WaitForConsumersAsync(IConnection connection, IEnumerable<string> queues, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var channel = await connection.CreateChannelAsync();
        try
        {
            foreach (var queue in queues)
            {
                while (true)
                {
                    try
                    {
                        if ((await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount > 0)
                        {
                            break;
                        }
                    }
                    catch (OperationInterruptedException)
                    {
                        await channel.DisposeAsync();
                        channel = await connection.CreateChannelAsync();
                    }

                    if (DateTime.UtcNow > deadline)
                    {
                        throw new TimeoutException($"no consumer appeared on queue '{queue}' within {timeout}");
                    }

                    await Task.Delay(5);
                }
            }
        }
        finally
        {
            await channel.DisposeAsync();
        }
    }
}
