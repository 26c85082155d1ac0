/// Reasons name types as F# writes them: 'ReasonTextTests.BookingRequested', not the CLR's 'ReasonTextTests+BookingRequested'.
module Twyla.Streams.FSharp.Tests.ReasonTextTests

open System.Text.Json
open Twyla.Streams.FSharp.Tests.Support
open Xunit

type BookingRequested = { Pnr: string; Seats: int }
type Envelope<'T> = { Id: string; Item: 'T }

/// The reason a listener of 'T dead-letters `json` with.
let private reasonFor<'T> (json: string) = task {
    use fixture = new BusFixture()
    let! _ = fixture.ListenAsync<'T>("booking.requested", "confirmer", fun _ -> task { failwith "an invalid payload reached the handler" })
    do! fixture.Bus.EmitAndConfirmAsync("booking.requested", JsonDocument.Parse(json).RootElement) // JSON null too
    let! letters = fixture.DeadLettersAsync("booking.requested", "confirmer", 1)
    return letters.Head.Reason }

[<Fact>]
let ``A dead-letter reason should name the contract as F# writes it`` () = task {
    let! reason = reasonFor<BookingRequested> """{"pnr":"BROKEN"}"""
    Assert.Contains("the contract ReasonTextTests.BookingRequested:", reason)
    Assert.Contains("'ReasonTextTests.BookingRequested'", reason) // in System.Text.Json's own message too
    Assert.Contains("'seats'", reason)
    Assert.DoesNotContain("+", reason) }

[<Fact>]
let ``A dead-letter reason should name generic contracts with angle brackets`` () = task {
    let! reason = reasonFor<Envelope<BookingRequested>> """{"id":"E1","item":{"pnr":"BROKEN"}}"""
    Assert.Contains("the contract ReasonTextTests.Envelope<ReasonTextTests.BookingRequested>:", reason)
    Assert.Contains("'ReasonTextTests.BookingRequested'", reason)
    Assert.DoesNotContain("`", reason)
    Assert.DoesNotContain("+", reason) }

[<Fact>]
let ``A null payload's reason should name the contract as F# writes it`` () = task {
    let! reason = reasonFor<BookingRequested> "null"
    Assert.Equal("the payload is null; the contract ReasonTextTests.BookingRequested requires a value", reason) }
