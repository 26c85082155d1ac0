using System.CommandLine;
using System.Text;
using Microsoft.Extensions.Configuration;
using RabbitMQ.Client;
using Twyla.Streams;
using Twyla.Streams.Testing;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Cli.Tests;

/// <summary>
/// Runs twyla's command line in process against the test broker (<c>Twyla__Amqp__Uri</c> from ./test.sh), read from
/// the environment as the tool reads it, on an exchange of the test's own.
/// </summary>
internal sealed class CliHarness
{
    public const string UriVariable = "Twyla__Amqp__Uri";

    public CliHarness()
    {
        Uri = Environment.GetEnvironmentVariable(UriVariable) is { Length: > 0 } uri
            ? uri
            : throw new InvalidOperationException($"{UriVariable} is not set: run the tests with ./test.sh, which starts a broker.");
        Exchange = "twyla.test." + Guid.NewGuid().ToString("N")[..12];
    }

    public string Uri { get; }

    public string Exchange { get; }

    /// <summary>A bus of the test's own on the same broker and exchange, to set the scene.</summary>
    public EventBus Bus(string service) =>
        EventBus.RabbitMq(RabbitMqSettings.FromUri(Uri).WithExchange(Exchange), EventBusSettings.Create(service));

    /// <summary>The configuration the tool gets: the process environment, with the test's exchange on top.</summary>
    public IConfiguration Configuration(bool withEnvironment = true)
    {
        var builder = new ConfigurationBuilder();
        if (withEnvironment)
        {
            builder.AddEnvironmentVariables();
        }

        return builder.AddInMemoryCollection(new Dictionary<string, string?> { ["Twyla:Exchange"] = Exchange }).Build();
    }

    public Task<Result> RunAsync(params string[] args) => RunAsync(new Invocation(Configuration(), ""), args);

    public Task<Result> RunWithInputAsync(string input, params string[] args) => RunAsync(new Invocation(Configuration(), input), args);

    public static async Task<Result> RunAsync(Invocation invocation, string[] args, CancellationToken cancellationToken = default)
    {
        var root = TwylaCommandLine.Create(invocation.Configuration, new StringReader(invocation.Input));
        var code = await root.Parse(args).InvokeAsync(
            new InvocationConfiguration { Output = invocation.Output, Error = invocation.Error }, cancellationToken);
        return new Result(code, invocation.Output.ToString(), invocation.Error.ToString());
    }

    /// <summary>Whether a queue exists on the broker.</summary>
    public async Task<bool> QueueExistsAsync(string queue)
    {
        var connection = await new ConnectionFactory { Uri = new Uri(Uri), AutomaticRecoveryEnabled = false }.CreateConnectionAsync();
        await using (connection)
        {
            var channel = await connection.CreateChannelAsync();
            try
            {
                await channel.QueueDeclarePassiveAsync(queue);
                return true;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
            {
                return false;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 405)
            {
                return true; // RESOURCE_LOCKED: an exclusive queue of another connection
            }
        }
    }

    /// <summary>Polls <paramref name="read"/> until <paramref name="done"/> (broker-side state has no completion to await); 30 s at most.</summary>
    public static Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done) => Poll.Eventually(read, done, TimeSpan.FromSeconds(30));
}

/// <summary>One command line run: its configuration, what it reads as input, and writers that can be watched while it runs.</summary>
internal sealed record Invocation(IConfiguration Configuration, string Input)
{
    public WatchedWriter Output { get; } = new();

    public WatchedWriter Error { get; } = new();
}

/// <summary>An exit code with what was written to standard output and error.</summary>
internal sealed record Result(int Code, string Out, string Error)
{
    public override string ToString() => $"exit {Code}\n--- out:\n{Out}\n--- error:\n{Error}";
}

/// <summary>A thread-safe text writer whose text can be awaited (a command writes from the broker's threads).</summary>
internal sealed class WatchedWriter : TextWriter
{
    private readonly StringBuilder _text = new();
    private readonly List<(string Text, TaskCompletionSource<string> Seen)> _waiters = [];

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value) => Write(value.ToString());

    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    public override void Write(string? value)
    {
        lock (_text)
        {
            _text.Append(value);
            var text = _text.ToString();
            foreach (var waiter in _waiters.Where(w => text.Contains(w.Text, StringComparison.Ordinal)).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Seen.TrySetResult(text);
            }
        }
    }

    public override Task WriteAsync(string? value)
    {
        Write(value);
        return Task.CompletedTask;
    }

    public override Task WriteLineAsync(string? value)
    {
        Write(value + "\n");
        return Task.CompletedTask;
    }

    public override Task FlushAsync() => Task.CompletedTask;

    /// <summary>Completes with the whole text once it contains <paramref name="text"/>.</summary>
    public Task<string> WaitForAsync(string text)
    {
        lock (_text)
        {
            var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_text.ToString().Contains(text, StringComparison.Ordinal))
            {
                seen.SetResult(_text.ToString());
            }
            else
            {
                _waiters.Add((text, seen));
            }

            return seen.Task;
        }
    }

    public override string ToString()
    {
        lock (_text)
        {
            return _text.ToString();
        }
    }
}
