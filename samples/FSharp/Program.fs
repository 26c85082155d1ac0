[<EntryPoint>]
let main _ =
    printfn "sample"
    0
