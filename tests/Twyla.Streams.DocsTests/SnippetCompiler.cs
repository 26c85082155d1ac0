using System.Reflection.PortableExecutable;
using FSharp.Compiler.CodeAnalysis;
using FSharp.Compiler.Diagnostics;
using FSharp.Compiler.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.FSharp.Control;

namespace Twyla.Streams.DocsTests;

/// <summary>
/// Compiles one snippet as a program or library of its own, in process: C# with Roslyn (compiled and emitted to
/// memory), F# with the F# compiler service (parsed and type-checked, which is where a missing open, an undefined name
/// or a wrong overload fails). The references are those of a .NET 10 ASP.NET Core application that references Twyla.Streams,
/// Twyla.Streams.Hosting, Twyla.Streams.TestKit and Akka.Hosting: the running framework (the test host runs on
/// Microsoft.AspNetCore.App) and the assemblies of this test's output folder.
/// </summary>
public static class SnippetCompiler
{
    /// <summary>
    /// The implicit global usings of a <c>dotnet new console</c> project (ImplicitUsings enabled, Microsoft.NET.Sdk):
    /// a C# snippet gets these and nothing else.
    /// </summary>
    public static readonly IReadOnlyList<string> ImplicitUsings =
    [
        "System",
        "System.Collections.Generic",
        "System.IO",
        "System.Linq",
        "System.Net.Http",
        "System.Threading",
        "System.Threading.Tasks",
    ];

    private static readonly Lazy<IReadOnlyList<string>> ReferencePaths = new(FindReferences);

    private static readonly Lazy<IReadOnlyList<MetadataReference>> CSharpReferences =
        new(() => [.. ReferencePaths.Value.Select(p => MetadataReference.CreateFromFile(p))]);

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private static readonly SyntaxTree GlobalUsings = CSharpSyntaxTree.ParseText(
        string.Concat(ImplicitUsings.Select(u => $"global using global::{u};\n")), ParseOptions, "GlobalUsings.g.cs");

    private static readonly Lazy<FSharpChecker> Checker = new(() => FSharpChecker.Create(
        projectCacheSize: null, keepAssemblyContents: null, keepAllBackgroundResolutions: null, legacyReferenceResolver: null,
        tryGetMetadataSnapshot: null, suggestNamesForErrors: null, keepAllBackgroundSymbolUses: null, enableBackgroundItemKeyStoreAndSemanticClassification: null,
        enablePartialTypeChecking: null, parallelReferenceResolution: null, captureIdentifiersWhenParsing: null, documentSource: null,
        useTransparentCompiler: null, transparentCompilerCacheSizes: null));

    private static readonly string FSharpFile = Path.Combine(AppContext.BaseDirectory, "Snippet.fs");

    private static readonly Lazy<FSharpProjectOptions> FSharpProject = new(() => Checker.Value.GetProjectOptionsFromCommandLineArgs(
        Path.Combine(AppContext.BaseDirectory, "Snippet.fsproj"),
        [
            "--target:exe",
            "--targetprofile:netcore",
            "--noframework",
            "--langversion:latest",
            .. ReferencePaths.Value.Select(p => $"-r:{p}"),
            FSharpFile,
        ],
        loadedTimeStamp: null,
        isEditing: null,
        isInteractive: null));

    private static readonly SemaphoreSlim FSharpGate = new(1, 1);

    private static int _fsharpVersion;

    /// <summary>
    /// The compiler's errors for <paramref name="snippet"/>, each as <c>file:line:column: id: message</c> with the line
    /// of the Markdown file; empty when it compiles. Warnings are not returned.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ErrorsAsync(DocsSnippet snippet)
    {
        ArgumentNullException.ThrowIfNull(snippet);
        return snippet.Language switch
        {
            SnippetLanguage.CSharp => CSharpErrors(snippet),
            SnippetLanguage.FSharp => await FSharpErrorsAsync(snippet),
            _ => throw new ArgumentOutOfRangeException(nameof(snippet), snippet.Language, "Unknown snippet language."),
        };
    }

    /// <summary>
    /// C#: top-level statements make a console application, otherwise a library. Nullable enabled, latest language
    /// version, the implicit usings of a console project.
    /// </summary>
    private static IReadOnlyList<string> CSharpErrors(DocsSnippet snippet)
    {
        var tree = CSharpSyntaxTree.ParseText(snippet.Code, ParseOptions, snippet.File);
        var isProgram = tree.GetCompilationUnitRoot().Members.OfType<GlobalStatementSyntax>().Any();
        var compilation = CSharpCompilation.Create(
            "Snippet",
            [GlobalUsings, tree],
            CSharpReferences.Value,
            new CSharpCompilationOptions(
                isProgram ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable));
        using var output = new MemoryStream();
        var result = compilation.Emit(output);
        return [.. result.Diagnostics
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d =>
            {
                var start = d.Location.GetLineSpan().StartLinePosition;
                return $"{snippet.LocationOf(start.Line + 1)}:{start.Character + 1}: {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
            })];
    }

    /// <summary>
    /// F#: checked as the one file of an executable (its top-level code or its [&lt;EntryPoint&gt;] is the program). One
    /// project for every snippet, so the checker reads the references once; the file's text is given in memory, a new
    /// version each time. One check at a time.
    /// </summary>
    private static async Task<IReadOnlyList<string>> FSharpErrorsAsync(DocsSnippet snippet)
    {
        await FSharpGate.WaitAsync();
        try
        {
            var (parse, answer) = await FSharpAsync.StartAsTask(
                Checker.Value.ParseAndCheckFileInProject(
                    FSharpFile, ++_fsharpVersion, SourceText.ofString(snippet.Code), FSharpProject.Value, userOpName: null),
                taskCreationOptions: null,
                cancellationToken: null);
            if (answer is not FSharpCheckFileAnswer.Succeeded checkedFile)
            {
                return [$"{snippet.Location}: the F# checker gave up on the block."];
            }

            return [.. parse.Diagnostics.Concat(checkedFile.Item.Diagnostics)
                .Where(d => d.Severity == FSharpDiagnosticSeverity.Error)
                .Select(d => $"{snippet.LocationOf(d.StartLine)}:{d.StartColumn + 1}: FS{d.ErrorNumber:0000}: {d.Message}")
                .Distinct()];
        }
        finally
        {
            FSharpGate.Release();
        }
    }

    /// <summary>The test machinery in the output folder, which no snippet references (and which slows every compilation).</summary>
    private static readonly string[] NotReferenced =
        ["FSharp.Compiler.Service", "Microsoft.CodeAnalysis", "Microsoft.TestPlatform", "Microsoft.VisualStudio", "testhost", "xunit.runner", "xunit.execution"];

    /// <summary>
    /// The framework's assemblies (the test host's trusted platform assemblies: Microsoft.NETCore.App and
    /// Microsoft.AspNetCore.App) and the managed assemblies of the output folder, one per name, without the compilers
    /// and the test platform.
    /// </summary>
    private static IReadOnlyList<string> FindReferences()
    {
        var trusted = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        var local = Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll").Order(StringComparer.Ordinal);
        var self = typeof(SnippetCompiler).Assembly.GetName().Name + ".dll";
        return [.. trusted.Concat(local)
            .Where(p => !string.Equals(Path.GetFileName(p), self, StringComparison.OrdinalIgnoreCase))
            .Where(p => !NotReferenced.Any(n => Path.GetFileName(p).StartsWith(n, StringComparison.OrdinalIgnoreCase)))
            .DistinctBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase)
            .Where(IsManaged)];
    }

    private static bool IsManaged(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new PEReader(stream);
        return reader.HasMetadata;
    }
}
