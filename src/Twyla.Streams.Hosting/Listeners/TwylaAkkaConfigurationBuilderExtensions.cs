using Akka;
using Akka.DependencyInjection;
using Akka.Hosting;
using Akka.Streams.Dsl;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting.Listeners;

namespace Twyla.Streams.Hosting;

/// <summary>
/// Registers listeners as hosted graphs on an Akka.Hosting <see cref="AkkaConfigurationBuilder"/>. Each listener's
/// graph is materialized when the actor system has started, restarts with exponential backoff when it fails (logged
/// with the event name and group), and drains when the host stops: it stops consuming, lets the events in flight finish
/// and be acked within the drain timeout, then closes, before the actor system terminates. Needs
/// <see cref="TwylaServiceCollectionExtensions.AddTwylaEvents(Microsoft.Extensions.DependencyInjection.IServiceCollection)"/>
/// (or <see cref="TwylaHostApplicationBuilderExtensions.AddTwyla(Microsoft.Extensions.Hosting.IHostApplicationBuilder, Action{AkkaConfigurationBuilder})"/>).
/// </summary>
public static class TwylaAkkaConfigurationBuilderExtensions
{
    /// <summary>
    /// Listens to <paramref name="pattern"/> as member of <paramref name="group"/> and runs <paramref name="handler"/>
    /// on each event: acked when the returned task completes, tried again when it fails, dead-lettered once it used up
    /// its deliveries. Settings from <see cref="TwylaOptions"/>.
    /// </summary>
    /// <typeparam name="T">The payload contract; payloads that do not parse into it are dead-lettered.</typeparam>
    /// <param name="builder">The Akka.Hosting builder.</param>
    /// <param name="pattern">An event name (<c>booking.created</c>) or pattern (<c>booking.*</c>).</param>
    /// <param name="group">The listener group: groups each get every event, listeners in one group compete.</param>
    /// <param name="handler">The work for one event.</param>
    /// <returns>The same builder.</returns>
    public static AkkaConfigurationBuilder WithTwylaListener<T>(
        this AkkaConfigurationBuilder builder, string pattern, string group, Func<Event<T>, Task> handler) =>
        builder.WithTwylaListener(pattern, group, handler, new TwylaListenerOptions());

    /// <summary>
    /// Like <see cref="WithTwylaListener{T}(AkkaConfigurationBuilder, string, string, Func{Event{T}, Task})"/>, with
    /// this listener's own settings.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="builder">The Akka.Hosting builder.</param>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="handler">The work for one event.</param>
    /// <param name="options">Parallelism, prefetch, deliveries, queue type, drain timeout, backoff; null properties take the service's.</param>
    /// <returns>The same builder.</returns>
    public static AkkaConfigurationBuilder WithTwylaListener<T>(
        this AkkaConfigurationBuilder builder, string pattern, string group, Func<Event<T>, Task> handler, TwylaListenerOptions options) =>
        builder.WithTwylaListener(ListenerDefinition<T>.ForHandler(pattern, group, handler, options));

    /// <summary>
    /// Listens to <paramref name="pattern"/> as member of <paramref name="group"/> and runs <paramref name="handler"/>
    /// on each event with the services of a dependency-injection scope made for that event (disposed when the handler
    /// finished): acked when the returned task completes, tried again when it fails.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="builder">The Akka.Hosting builder.</param>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="handler">The work for one event, given the event's scoped services and the event.</param>
    /// <returns>The same builder.</returns>
    public static AkkaConfigurationBuilder WithTwylaScopedListener<T>(
        this AkkaConfigurationBuilder builder, string pattern, string group, Func<IServiceProvider, Event<T>, Task> handler) =>
        builder.WithTwylaScopedListener(pattern, group, handler, new TwylaListenerOptions());

    /// <summary>
    /// Like <see cref="WithTwylaScopedListener{T}(AkkaConfigurationBuilder, string, string, Func{IServiceProvider, Event{T}, Task})"/>,
    /// with this listener's own settings.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="builder">The Akka.Hosting builder.</param>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="handler">The work for one event, given the event's scoped services and the event.</param>
    /// <param name="options">This listener's settings; null properties take the service's.</param>
    /// <returns>The same builder.</returns>
    public static AkkaConfigurationBuilder WithTwylaScopedListener<T>(
        this AkkaConfigurationBuilder builder, string pattern, string group, Func<IServiceProvider, Event<T>, Task> handler,
        TwylaListenerOptions options) =>
        builder.WithTwylaListener(ListenerDefinition<T>.ForScopedHandler(pattern, group, handler, options));

    /// <summary>
    /// Like <see cref="WithTwylaListener{T}(AkkaConfigurationBuilder, string, string, Func{Event{T}, Task})"/>, for a
    /// handler whose task has a result (ignored): a named F# function returning <c>Task&lt;unit&gt;</c> is passed as it is.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <typeparam name="TResult">The result of the handler's task (ignored).</typeparam>
    /// <param name="builder">The Akka.Hosting builder.</param>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="handler">The work for one event.</param>
    /// <returns>The same builder.</returns>
    public static AkkaConfigurationBuilder WithTwylaListener<T, TResult>(
        this AkkaConfigurationBuilder builder, string pattern, string group, Func<Event<T>, Task<TResult>> handler) =>
        builder.WithTwylaListener<T>(pattern, group, handler, new TwylaListenerOptions());

    /// <summary>
    /// Like <see cref="WithTwylaListener{T}(AkkaConfigurationBuilder, string, string, Func{Event{T}, Task}, TwylaListenerOptions)"/>,
    /// for a handler whose task has a result (ignored).
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <typeparam name="TResult">The result of the handler's task (ignored).</typeparam>
    /// <param name="builder">The Akka.Hosting builder.</param>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="handler">The work for one event.</param>
    /// <param name="options">This listener's settings; null properties take the service's.</param>
    /// <returns>The same builder.</returns>
    public static AkkaConfigurationBuilder WithTwylaListener<T, TResult>(
        this AkkaConfigurationBuilder builder, string pattern, string group, Func<Event<T>, Task<TResult>> handler, TwylaListenerOptions options) =>
        builder.WithTwylaListener<T>(pattern, group, handler, options);

    /// <summary>
    /// Like <see cref="WithTwylaScopedListener{T}(AkkaConfigurationBuilder, string, string, Func{IServiceProvider, Event{T}, Task})"/>,
    /// for a handler whose task has a result (ignored): a named F# function returning <c>Task&lt;unit&gt;</c> is passed as it is.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <typeparam name="TResult">The result of the handler's task (ignored).</typeparam>
    /// <param name="builder">The Akka.Hosting builder.</param>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="handler">The work for one event, given the event's scoped services and the event.</param>
    /// <returns>The same builder.</returns>
    public static AkkaConfigurationBuilder WithTwylaScopedListener<T, TResult>(
        this AkkaConfigurationBuilder builder, string pattern, string group, Func<IServiceProvider, Event<T>, Task<TResult>> handler) =>
        builder.WithTwylaScopedListener<T>(pattern, group, handler, new TwylaListenerOptions());

    /// <summary>
    /// Like <see cref="WithTwylaScopedListener{T}(AkkaConfigurationBuilder, string, string, Func{IServiceProvider, Event{T}, Task}, TwylaListenerOptions)"/>,
    /// for a handler whose task has a result (ignored).
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <typeparam name="TResult">The result of the handler's task (ignored).</typeparam>
    /// <param name="builder">The Akka.Hosting builder.</param>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="handler">The work for one event, given the event's scoped services and the event.</param>
    /// <param name="options">This listener's settings; null properties take the service's.</param>
    /// <returns>The same builder.</returns>
    public static AkkaConfigurationBuilder WithTwylaScopedListener<T, TResult>(
        this AkkaConfigurationBuilder builder, string pattern, string group, Func<IServiceProvider, Event<T>, Task<TResult>> handler,
        TwylaListenerOptions options) =>
        builder.WithTwylaScopedListener<T>(pattern, group, handler, options);

    /// <summary>
    /// Listens to <paramref name="pattern"/> as member of <paramref name="group"/> through <paramref name="handler"/>, a
    /// flow that passes on each event once it finished with it (in any order); what comes out is acked. An event the
    /// flow does not pass on must be settled by the flow. When the flow fails, the listener restarts with backoff and
    /// the events it held are delivered again.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="builder">The Akka.Hosting builder.</param>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="handler">The user's flow; materialized anew at every (re)start.</param>
    /// <returns>The same builder.</returns>
    public static AkkaConfigurationBuilder WithTwylaFlowListener<T>(
        this AkkaConfigurationBuilder builder, string pattern, string group, Flow<Event<T>, Event<T>, NotUsed> handler) =>
        builder.WithTwylaFlowListener(pattern, group, handler, new TwylaListenerOptions());

    /// <summary>
    /// Like <see cref="WithTwylaFlowListener{T}(AkkaConfigurationBuilder, string, string, Flow{Event{T}, Event{T}, NotUsed})"/>,
    /// with this listener's own settings (<see cref="TwylaListenerOptions.Parallelism"/> bounds the acks in flight).
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="builder">The Akka.Hosting builder.</param>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="handler">The user's flow.</param>
    /// <param name="options">This listener's settings; null properties take the service's.</param>
    /// <returns>The same builder.</returns>
    public static AkkaConfigurationBuilder WithTwylaFlowListener<T>(
        this AkkaConfigurationBuilder builder, string pattern, string group, Flow<Event<T>, Event<T>, NotUsed> handler,
        TwylaListenerOptions options) =>
        builder.WithTwylaListener(ListenerDefinition<T>.ForFlow(pattern, group, handler, options));

    /// <summary>
    /// The funnel: starts the listener once the actor system runs. (The three handler shapes have three names, not
    /// overloads: F# cannot infer a lambda's parameter type across overloads that differ in the delegate.)
    /// </summary>
    private static AkkaConfigurationBuilder WithTwylaListener(this AkkaConfigurationBuilder builder, IListenerDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddStartup(async (system, _) =>
        {
            var listeners = DependencyResolver.For(system).Resolver.GetService<TwylaListeners>()
                ?? throw new InvalidOperationException(
                    $"The Twyla listener for '{definition.Pattern}' (group '{definition.Group}') needs the event bus: " +
                    "call services.AddTwylaEvents() (or builder.AddTwyla(...)) when configuring the host.");
            await listeners.StartAsync(definition, system).ConfigureAwait(false);
        });
    }
}
