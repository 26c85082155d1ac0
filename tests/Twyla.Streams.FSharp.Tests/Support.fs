/// What the F# tests share: an in-memory bus with an actor system to run its streams on, and waits that only a hang
/// reaches (tests/README.md: wait for the state you rely on, never sleep).
module Twyla.Streams.FSharp.Tests.Support

open System
open System.Threading.Tasks
open Akka.Actor
open Akka.Streams
open Twyla.Streams
open Twyla.Streams.Events

/// How long a test waits for something that must happen: long enough for a busy machine, reached only by a hang.
let hang = TimeSpan.FromSeconds 20.

/// Where a handler hands a value to the test. Its waiter resumes on the thread pool: a plain TaskCompletionSource would
/// run the rest of the test inline in TrySetResult, on the listener's stream thread, inside the handler (the fixture's
/// disposal there held up the actor system's termination until its 10 s phase timeout).
let handOver<'T> () = TaskCompletionSource<'T>(TaskCreationOptions.RunContinuationsAsynchronously)

/// An in-memory bus (its own broker) and an actor system; both are disposed with the fixture (`use` in a task awaits
/// that: no thread is blocked while the actor system terminates).
type BusFixture(settings: EventBusSettings) =
    let system = ActorSystem.Create "fsharp-tests"
    let materializer = system.Materializer()
    let bus = EventBus.InMemory settings

    new() = new BusFixture(EventBusSettings.Create "fsharp-tests")

    member _.Bus = bus
    member _.Materializer = materializer

    /// Listens to `pattern` as `group`, acks each event once `handler` finished, and returns once the listener consumes.
    member _.ListenAsync<'T>(pattern: string, group: string, handler: Event<'T> -> Task<unit>) = task {
        let control = bus.Listen<'T>(pattern, group).To(AckOnCompletion.Sink(handler, AckOnCompletionSettings.Default)).Run materializer
        do! control.Ready.WaitAsync hang
        return control }

    /// The dead letters of a group once there are at least `count` of them (polled: they arrive asynchronously).
    member _.DeadLettersAsync(pattern: string, group: string, count: int) = task {
        let deadline = DateTime.UtcNow + hang
        let mutable letters : DeadLetter list = []
        while letters.Length < count && DateTime.UtcNow < deadline do
            let! peeked = bus.PeekDeadLettersAsync(pattern, group)
            letters <- List.ofSeq peeked
            if letters.Length < count then do! Task.Delay 20
        if letters.Length < count then failwithf "expected %d dead letters in %s/%s, found %d" count pattern group letters.Length
        return letters }

    interface IAsyncDisposable with
        member _.DisposeAsync() =
            ValueTask(task {
                do! bus.DisposeAsync()
                do! system.Terminate().WaitAsync hang })

/// The first value a handler hands over, or a failure after `hang`.
let firstOf (source: TaskCompletionSource<'T>) = source.Task.WaitAsync hang
