using System.Reflection;
using PublicApiGenerator;
using Xunit;

namespace Twyla.Streams.ApiApproval;

/// <summary>
/// The public API is frozen in <c>PublicApi/*.approved.txt</c>: a change to the surface shows in review as a diff
/// of that file. The F# interop rules (docs/design.md) are checked on the same surface. The test project
/// <c>X.Tests</c> checks the assembly <c>X</c>; Twyla.Streams.Hosting.Tests compiles this same file.
/// </summary>
public sealed class PublicApiTests
{
    public static TheoryData<string> Assemblies => new() { TestedAssembly() };

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void Public_api_should_match_the_approved_file(string assemblyName)
    {
        var assembly = Assembly.Load(assemblyName);
        var actual = assembly.GeneratePublicApi(new ApiGeneratorOptions { IncludeAssemblyAttributes = false }).ReplaceLineEndings("\n");
        var approvedPath = Path.Combine(TestProjectDirectory(), "PublicApi", $"{assemblyName}.approved.txt");
        var receivedPath = approvedPath.Replace(".approved.txt", ".received.txt", StringComparison.Ordinal);
        var approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).ReplaceLineEndings("\n") : "";
        if (actual != approved)
        {
            File.WriteAllText(receivedPath, actual);
            Assert.Fail($"The public API of {assemblyName} changed. If that is intended, copy {receivedPath} over {approvedPath}.");
        }

        File.Delete(receivedPath);
    }

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void Public_api_should_keep_the_fsharp_interop_rules(string assemblyName)
    {
        var problems = new List<string>();
        foreach (var type in Assembly.Load(assemblyName).GetExportedTypes())
        {
            if (type.IsSubclassOf(typeof(Delegate)))
            {
                problems.Add($"{type}: custom delegate type (use Func/Action)");
            }

            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                var name = $"{type.Name}.{method.Name}";
                if (method.ReturnType.IsGenericType && method.ReturnType.GetGenericTypeDefinition() == typeof(ValueTask<>)
                    || (method.ReturnType == typeof(ValueTask) && method.Name != nameof(IAsyncDisposable.DisposeAsync)))
                {
                    problems.Add($"{name}: returns ValueTask (use Task)");
                }

                foreach (var parameter in method.GetParameters())
                {
                    if (parameter.IsOptional)
                    {
                        problems.Add($"{name}({parameter.Name}): optional parameter (use a settings object or an overload)");
                    }

                    if (parameter.IsOut && method.Name != "Deconstruct") // records' positional deconstruction is C# sugar
                    {
                        problems.Add($"{name}({parameter.Name}): out parameter");
                    }

                    if (parameter.ParameterType.FullName?.StartsWith("Akka.Util.Option", StringComparison.Ordinal) == true)
                    {
                        problems.Add($"{name}({parameter.Name}): Akka.Util.Option in a public signature");
                    }
                }
            }
        }

        Assert.Empty(problems);
    }

    private static string TestedAssembly()
    {
        var testAssembly = typeof(PublicApiTests).Assembly.GetName().Name!;
        return testAssembly[..^".Tests".Length];
    }

    /// <summary>
    /// <c>tests/X.Tests</c> of the repository, found by walking up from the test's output folder to the folder holding
    /// <c>Twyla.Streams.sln</c>. Not from <c>[CallerFilePath]</c>: a build with <c>CI=true</c> sets
    /// <c>ContinuousIntegrationBuild</c>, which maps source paths to <c>/_/</c>, and CI builds that way.
    /// </summary>
    private static string TestProjectDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Twyla.Streams.sln")))
            {
                return Path.Combine(dir.FullName, "tests", typeof(PublicApiTests).Assembly.GetName().Name!);
            }
        }

        throw new InvalidOperationException($"No Twyla.Streams.sln in {AppContext.BaseDirectory} or any folder above it.");
    }
}
