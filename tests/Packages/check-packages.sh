#!/usr/bin/env bash
# Packs the library into a folder feed and uses it the way a team would, from packages only.
#
# Usage: tests/Packages/check-packages.sh WORKDIR [--no-build]
#   1. `dotnet pack` of every packable project (src/*, tools/*: the three library packages and the twyla tool) into
#      WORKDIR/feed, in Release; with --no-build (test.sh, right after its build) the Debug build is packed as it is;
#   2. checks each .nupkg: its lib dll and XML docs (tool: its tool folder), the README, license, description and
#      tags in the nuspec, its dependencies at the right version, and a .snupkg beside it with the pdb; installs the
#      twyla tool from the feed into WORKDIR/tool and runs it;
#   3. builds the consumers (tests/Packages/Consumers.slnx) against that feed and nuget.org only, restoring into
#      WORKDIR/packages (Twyla.* only ever from the feed; the machine's package cache serves as a source for the rest, so
#      it is copied, not downloaded, when it is there), runs the C# and the F# one and the TestKit test project.
# Prints "package check passed: …" / "package check FAILED: …" per check and, last, "     Passed: N" and
# "     Failed: N" lines that test.sh adds to its closing count. Exits non-zero when anything failed.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:?usage: check-packages.sh WORKDIR [--no-build]}"
pack_options=(-c Release -p:ContinuousIntegrationBuild=true)
[ "${2:-}" = --no-build ] && pack_options=(-c Debug --no-build)
feed="$work/feed"
mkdir -p "$feed" "$work/packages"
# Asked from the work folder, outside the repository: tests/Packages/NuGet.config must not answer for the machine.
cache="$(cd "$work" && dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')"
mkdir -p "${cache:?no global-packages folder}"
export TWYLA_PACKAGE_FEED="$feed" TWYLA_PACKAGES_FOLDER="$work/packages" TWYLA_PACKAGES_ARTIFACTS="$work/artifacts" TWYLA_NUGET_CACHE="$cache"
passed=0
failed=0
check() { # check NAME COMMAND...: runs the command, counts and prints the outcome
    local name="$1"
    shift
    local began=$SECONDS
    if "$@" >"$work/check.log" 2>&1; then
        passed=$((passed + 1))
        echo "package check passed: $name ($((SECONDS - began)) s)"
    else
        failed=$((failed + 1))
        echo "package check FAILED: $name"
        sed 's/^/    /' "$work/check.log" | tail -40
    fi
}
finish() {
    printf '     Passed: %d\n     Failed: %d\n' "$passed" "$failed"
    [ "$failed" -eq 0 ]
    exit
}

start=$SECONDS
pack_all() {
    local project ok=0
    for project in "$root"/src/*/*.csproj "$root"/tools/*/*.csproj; do
        dotnet pack "$project" -o "$feed" -v q "${pack_options[@]}" || ok=1
    done
    return $ok
}
check "dotnet pack ${pack_options[*]}" pack_all
version="$(unzip -p "$feed"/Twyla.Streams.[0-9]*.nupkg Twyla.Streams.nuspec 2>/dev/null | sed -n 's:.*<version>\(.*\)</version>.*:\1:p')"
if [ -z "$version" ]; then
    failed=$((failed + 1))
    echo "package check FAILED: no Twyla.Streams package in $feed"
    finish
fi

# has_package ID KIND DEPENDENCY...: the package ID with its files, metadata and dependencies ("Id@version").
has_package() {
    local id="$1" kind="$2"
    shift 2
    local nupkg="$feed/$id.$version.nupkg" snupkg="$feed/$id.$version.snupkg"
    [ -f "$nupkg" ] || { echo "$nupkg is missing"; return 1; }
    local files nuspec problems=()
    files="$(unzip -Z1 "$nupkg")"
    nuspec="$(unzip -p "$nupkg" "$id.nuspec")"
    if [ "$kind" = tool ]; then
        grep -qx "tools/net10.0/any/$id.dll" <<<"$files" || problems+=("no tools/net10.0/any/$id.dll")
        grep -q '<packageType name="DotnetTool"' <<<"$nuspec" || problems+=("not a DotnetTool package")
    else
        grep -qx "lib/net10.0/$id.dll" <<<"$files" || problems+=("no lib/net10.0/$id.dll")
        grep -qx "lib/net10.0/$id.xml" <<<"$files" || problems+=("no lib/net10.0/$id.xml (XML docs)")
        local symbols=""
        [ -f "$snupkg" ] && symbols="$(unzip -Z1 "$snupkg")"
        grep -qx "lib/net10.0/$id.pdb" <<<"$symbols" || problems+=("no $id.$version.snupkg with lib/net10.0/$id.pdb")
    fi
    grep -qx "README.md" <<<"$files" || problems+=("no README.md")
    grep -q '<readme>README.md</readme>' <<<"$nuspec" || problems+=("no <readme> in the nuspec")
    grep -q '<license type="expression">MIT</license>' <<<"$nuspec" || problems+=("no MIT license expression")
    grep -q '<description>..*</description>' <<<"$nuspec" || problems+=("no description")
    grep -q '<tags>..*</tags>' <<<"$nuspec" || problems+=("no tags")
    local dep
    for dep in "$@"; do
        grep -q "<dependency id=\"${dep%@*}\" version=\"${dep#*@}\"" <<<"$nuspec" || problems+=("no dependency ${dep%@*} ${dep#*@}")
    done
    local deps
    deps="$(grep -c '<dependency ' <<<"$nuspec")"
    [ "$deps" -eq "$#" ] || problems+=("$deps dependencies, expected $# ($*)")
    if [ ${#problems[@]} -gt 0 ]; then
        printf '%s: %s\n' "$nupkg" "${problems[@]}"
        return 1
    fi
}

# Dependencies: the versions of Directory.Packages.props, the library's own packages at the version just packed.
pinned() { sed -n "s:.*<PackageVersion Include=\"$1\" Version=\"\([^\"]*\)\".*:$1@\1:p" "$root/Directory.Packages.props"; }
check "Twyla.Streams package" has_package Twyla.Streams lib \
    "$(pinned Akka.Streams)" "$(pinned RabbitMQ.Client)" "$(pinned Polly.Core)" "$(pinned Microsoft.Extensions.Logging.Abstractions)" \
    "$(pinned JsonSchema.Net)"
check "Twyla.Streams.Hosting package" has_package Twyla.Streams.Hosting lib \
    "Twyla.Streams@$version" "$(pinned Akka.Hosting)" "$(pinned OpenTelemetry.Api)" "$(pinned Microsoft.AspNetCore.OpenApi)"
check "Twyla.Streams.TestKit package" has_package Twyla.Streams.TestKit lib \
    "Twyla.Streams@$version" "Twyla.Streams.Hosting@$version" "$(pinned Akka.Streams.TestKit)"
if [ -d "$root/tools/Twyla.Cli" ]; then
    check "twyla tool package" has_package Twyla.Cli tool
    tool_runs() {
        (cd "$work" && dotnet tool install Twyla.Cli --version "$version" --tool-path "$work/tool" --add-source "$feed") &&
            "$work/tool/twyla" --version | grep -q "^$version" &&
            "$work/tool/twyla" dead-letters list --help | grep -q -- "--event"
    }
    check "twyla tool installs from the feed and runs" tool_runs
fi

check "consumers build from the packages" dotnet build "$here/Consumers.slnx" -v q -p:TwylaVersion="$version"
check "C# consumer: emit, listen, RPC" dotnet "$work/artifacts/bin/CSharpConsumer/debug/CSharpConsumer.dll"
check "F# consumer: emit, listen, RPC" dotnet "$work/artifacts/bin/FSharpConsumer/debug/FSharpConsumer.dll"
# The consumer's own test results are printed (and counted by test.sh) as every test project's are.
if dotnet test "$here/TestKitConsumer/TestKitConsumer.csproj" --no-build -p:TwylaVersion="$version" --logger "console;verbosity=normal" </dev/null; then
    echo "package check passed: TestKit consumer tests"
else
    failed=$((failed + 1))
    echo "package check FAILED: TestKit consumer tests"
fi
echo "package checks took $((SECONDS - start)) s"
finish
