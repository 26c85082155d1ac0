using Xunit;

namespace Twyla.Streams.DocsTests;

/// <summary>The compiler reports what a user's build would: missing usings, undefined names, and nothing for good code.</summary>
public sealed class SnippetCompilerTests
{
    private static DocsSnippet CSharp(string code) => new("docs/example.md", 10, SnippetLanguage.CSharp, code);

    private static DocsSnippet FSharp(string code) => new("docs/example.md", 10, SnippetLanguage.FSharp, code);

    [Fact]
    public async Task A_complete_csharp_program_using_the_library_compiles()
    {
        var errors = await SnippetCompiler.ErrorsAsync(CSharp("""
            using Twyla.Streams;

            await using var bus = EventBus.InMemory(EventBusSettings.Create("docs"));
            await bus.EmitAsync("booking.created", new BookingCreated("B1"));

            public sealed record BookingCreated(string BookingId);
            """));

        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_csharp_block_without_its_using_fails_at_its_markdown_line()
    {
        var errors = await SnippetCompiler.ErrorsAsync(CSharp("""
            var tasks = new List<Task>();
            var bus = EventBus.InMemory(EventBusSettings.Create("docs"));
            """));

        // The console project's implicit usings (System.Collections.Generic, System.Threading.Tasks) are there; Twyla's are not.
        var error = Assert.Single(errors, e => e.Contains("'EventBus'", StringComparison.Ordinal));
        Assert.StartsWith("docs/example.md:12:", error, StringComparison.Ordinal);
        Assert.Contains("CS0103", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_csharp_fragment_with_an_undefined_name_fails()
    {
        var errors = await SnippetCompiler.ErrorsAsync(CSharp("""
            using Twyla.Streams;

            await using var bus = EventBus.InMemory(EventBusSettings.Create("docs"));
            var listener = bus.Listen<string>("booking.created", "billing").Run(materializer);
            """));

        Assert.Contains(errors, e => e.StartsWith("docs/example.md:14:", StringComparison.Ordinal) && e.Contains("'materializer'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_csharp_library_without_top_level_statements_needs_no_main()
    {
        var errors = await SnippetCompiler.ErrorsAsync(CSharp("""
            namespace Billing;

            public static class Handlers
            {
                public static Task HandleAsync(string booking) => Task.CompletedTask;
            }
            """));

        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_csharp_warning_is_not_an_error()
    {
        var errors = await SnippetCompiler.ErrorsAsync(CSharp("""
            string? name = null;
            Console.WriteLine(name.Length);
            """));

        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_complete_fsharp_program_using_the_library_compiles()
    {
        var errors = await SnippetCompiler.ErrorsAsync(FSharp("""
            open Twyla.Streams

            type BookingCreated = { BookingId: string }

            [<EntryPoint>]
            let main _ =
                use bus = EventBus.InMemory(EventBusSettings.Create "docs")
                bus.EmitAsync("booking.created", { BookingId = "B1" }).Wait()
                0
            """));

        Assert.Empty(errors);
    }

    [Fact]
    public async Task An_fsharp_block_with_a_top_level_let_bang_fails_at_its_markdown_line()
    {
        var errors = await SnippetCompiler.ErrorsAsync(FSharp("""
            open Twyla.Streams

            let bus = EventBus.InMemory(EventBusSettings.Create "docs")
            let! metadata = bus.EmitAsync("booking.created", 1)
            """));

        Assert.Contains(errors, e => e.StartsWith("docs/example.md:14:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_fsharp_block_without_its_open_fails()
    {
        var errors = await SnippetCompiler.ErrorsAsync(FSharp("""
            let bus = EventBus.InMemory(EventBusSettings.Create "docs")
            """));

        Assert.Contains(errors, e => e.StartsWith("docs/example.md:11:", StringComparison.Ordinal) && e.Contains("EventBus", StringComparison.Ordinal));
    }
}
