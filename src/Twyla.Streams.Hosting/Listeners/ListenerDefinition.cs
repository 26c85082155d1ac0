using Akka;
using Akka.Streams.Dsl;
using Microsoft.Extensions.DependencyInjection;
using Twyla.Streams.Events;

namespace Twyla.Streams.Hosting.Listeners;

/// <summary>A listener as registered: what it listens to, and how to build its graph once the host runs.</summary>
internal interface IListenerDefinition
{
    string Pattern { get; }

    string Group { get; }

    /// <summary>The payload contract the listener reads.</summary>
    Type PayloadType { get; }

    TwylaListenerOptions Options { get; }

    /// <summary>The listen source through the handler, as a runnable graph materializing the control and the end.</summary>
    IRunnableGraph<(IListenControl Control, Task Done)> CreateGraph(
        EventBus bus, IServiceProvider services, ListenerSettings settings, Sink<HandledEvent, Task<Done>> outcomes);
}

/// <summary>A listener of <typeparamref name="T"/> events whose handler is a flow that settles them.</summary>
internal sealed class ListenerDefinition<T> : IListenerDefinition
{
    private readonly Func<IServiceProvider, AckOnCompletionSettings, Flow<Event<T>, HandledEvent, NotUsed>> _handler;

    private ListenerDefinition(
        string pattern,
        string group,
        TwylaListenerOptions options,
        Func<IServiceProvider, AckOnCompletionSettings, Flow<Event<T>, HandledEvent, NotUsed>> handler)
    {
        EventBus.ValidateListener(pattern, group); // fails early with the library's message
        Pattern = pattern;
        Group = group;
        Options = options ?? throw new ArgumentNullException(nameof(options));
        _handler = handler;
    }

    public string Pattern { get; }

    public string Group { get; }

    public Type PayloadType => typeof(T);

    public TwylaListenerOptions Options { get; }

    public static ListenerDefinition<T> ForHandler(string pattern, string group, Func<Event<T>, Task> handler, TwylaListenerOptions options)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return new ListenerDefinition<T>(pattern, group, options, (_, ack) => AckOnCompletion.Flow(handler, ack));
    }

    public static ListenerDefinition<T> ForScopedHandler(
        string pattern, string group, Func<IServiceProvider, Event<T>, Task> handler, TwylaListenerOptions options)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return new ListenerDefinition<T>(
            pattern, group, options, (services, ack) => AckOnCompletion.Flow<T>(e => RunScopedAsync(services, handler, e), ack));
    }

    public static ListenerDefinition<T> ForFlow(string pattern, string group, Flow<Event<T>, Event<T>, NotUsed> handler, TwylaListenerOptions options)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return new ListenerDefinition<T>(pattern, group, options, (_, ack) => AckOnCompletion.FromFlow(handler, ack));
    }

    public IRunnableGraph<(IListenControl Control, Task Done)> CreateGraph(
        EventBus bus, IServiceProvider services, ListenerSettings settings, Sink<HandledEvent, Task<Done>> outcomes) =>
        bus.Listen<T>(Pattern, Group, settings.Listen)
            .Via(_handler(services, settings.Ack))
            .ToMaterialized(outcomes, (control, done) => (control, (Task)done));

    private static async Task RunScopedAsync(IServiceProvider services, Func<IServiceProvider, Event<T>, Task> handler, Event<T> e)
    {
        var scope = services.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            await handler(scope.ServiceProvider, e).ConfigureAwait(false);
        }
    }
}
