/// `do!` takes a plain Task: EmitAndConfirmAsync is EmitAsync without the metadata, so an emit in the middle of a
/// `task { }` needs no `let! _ =`, and it waits for the broker and fails as EmitAsync does.
module Twyla.Streams.FSharp.Tests.EmitTests

open System
open System.Threading
open System.Threading.Tasks
open Twyla.Streams
open Twyla.Streams.Emit
open Twyla.Streams.Events
open Twyla.Streams.FSharp.Tests.Support
open Xunit

type Requested = { Pnr: string; Seats: int }
type Accepted = { Pnr: string }

[<Fact>]
let ``EmitAndConfirmAsync should be awaited with do! in the middle of a task, and the event arrive`` () = task {
    use fixture = new BusFixture()
    let seen = TaskCompletionSource<Requested>()
    let! _ = fixture.ListenAsync<Requested>("booking.requested", "reader", fun e -> task { seen.TrySetResult e.Payload |> ignore })
    do! fixture.Bus.EmitAndConfirmAsync("booking.requested", { Requested.Pnr = "D1"; Seats = 2 })
    let! requested = firstOf seen
    Assert.Equal({ Requested.Pnr = "D1"; Seats = 2 }, requested) }

[<Fact>]
let ``A handler should emit a derived event with do! and go on, in the chain of its event`` () = task {
    use fixture = new BusFixture()
    let bus = fixture.Bus
    let accepted = TaskCompletionSource<Event<Accepted>>()
    let wentOn = TaskCompletionSource<string>()
    let accept (request: Event<Requested>) = task {
        do! bus.EmitAndConfirmAsync(request.Derive("booking.accepted", { Accepted.Pnr = request.Payload.Pnr }))
        wentOn.TrySetResult request.Payload.Pnr |> ignore }
    let! _ = fixture.ListenAsync<Accepted>("booking.accepted", "reader", fun e -> task { accepted.TrySetResult e |> ignore })
    let! _ = fixture.ListenAsync<Requested>("booking.requested", "acceptor", accept)
    let! request = bus.EmitAsync("booking.requested", { Requested.Pnr = "D2"; Seats = 1 })
    let! e = firstOf accepted
    let! pnr = firstOf wentOn
    Assert.Equal("D2", pnr)
    Assert.Equal({ Accepted.Pnr = "D2" }, e.Payload)
    Assert.Equal(request.Id, e.Metadata.CausationId)
    Assert.Equal(request.CorrelationId, e.Metadata.CorrelationId) }

[<Fact>]
let ``EmitAndConfirmAsync should fail with the exception EmitAsync fails with`` () = task {
    use fixture = new BusFixture()
    let bus = fixture.Bus
    let! _ = fixture.ListenAsync<Requested>("booking.requested", "strict", fun _ -> task { () })
    // Refused by the pre-emit check: the group requires `seats`.
    let checking = EmitSettings.Default.WithContractCheck true
    let incomplete = OutgoingEvent.Create("booking.requested", {| pnr = "F1" |})
    let! viaEmitAsync = Assert.ThrowsAsync<EmitException>(fun () -> bus.EmitAsync(incomplete, checking, CancellationToken.None) :> Task)
    let! viaDo = Assert.ThrowsAsync<EmitException>(fun () -> task { do! bus.EmitAndConfirmAsync(incomplete, checking, CancellationToken.None) } :> Task)
    Assert.Contains("group 'strict'", viaDo.Message)
    Assert.Equal(viaEmitAsync.Message, viaDo.Message)
    // On a disposed bus: an EmitException around the ObjectDisposedException, as EmitAsync's.
    do! bus.DisposeAsync()
    let! disposed = Assert.ThrowsAsync<EmitException>(fun () -> bus.EmitAndConfirmAsync("booking.requested", { Requested.Pnr = "F2"; Seats = 1 }))
    Assert.IsType<ObjectDisposedException>(disposed.InnerException) |> ignore
    Assert.EndsWith("(booking.requested) was not emitted: the event bus was disposed.", disposed.Message) }
