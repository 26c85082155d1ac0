using Akka.Streams.Stage;

namespace Twyla.Streams.Events;

/// <summary>The <see cref="IListenControl"/> of one materialized listen stage.</summary>
internal sealed class ListenControl : IListenControl
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IAsyncCallback<ListenCommand>? _commands;

    public Task Completion => _completion.Task;

    public Task Ready => _ready.Task;

    public Task ShutdownAsync() => Send(ListenCommand.Shutdown);

    public Task DrainAsync() => Send(ListenCommand.Drain);

    /// <summary>
    /// Asks the stage to drain; the task completes once the stage took the command (from then on it hands out no
    /// more events) or once the stage is gone. Never faults.
    /// </summary>
    public Task BeginDrainAsync() => Task.WhenAny(Deliver(ListenCommand.Drain), Completion);

    internal void Attach(IAsyncCallback<ListenCommand> commands) => _commands = commands;

    /// <summary>The consumer is registered: events emitted from now on reach the group's queue and this listener.</summary>
    internal void Started() => _ready.TrySetResult();

    internal void Complete()
    {
        _ready.TrySetCanceled(); // stopped before it ever consumed (no effect once ready)
        _completion.TrySetResult();
    }

    internal void Fail(Exception cause)
    {
        _ready.TrySetException(cause);
        _completion.TrySetException(cause);
    }

    private Task Send(ListenCommand command)
    {
        _ = Deliver(command);
        return Completion;
    }

    /// <summary>Completes when the stage took the command, or (without faulting) when the stage already stopped.</summary>
    private Task Deliver(ListenCommand command) =>
        _commands!.InvokeWithFeedback(command).ContinueWith(
            static t => _ = t.Exception, // the stage already stopped: nothing to do, Completion tells the outcome
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
}

/// <summary>Commands from <see cref="ListenControl"/> to its stage.</summary>
internal enum ListenCommand
{
    Shutdown,
    Drain,
}
