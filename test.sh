#!/usr/bin/env bash
# Builds and runs every test of the solution against a private RabbitMQ node.
#
# Installs rabbitmq-server from Debian when it is missing, starts a node of its own (own node name,
# loopback only, free ports, data in a temp folder), exports its AMQP URI as Twyla__Amqp__Uri, runs
# `dotnet test`, and stops the node and removes its folder on exit, also on failure.
# Extra arguments are passed to `dotnet test` (e.g. --filter FullyQualifiedName~RabbitMq).
# Then (on a run without arguments, or with TWYLA_TEST_PACKAGES=1; never with TWYLA_TEST_PACKAGES=0) it packs the
# library into a folder feed and builds and runs the package consumers (tests/Packages/check-packages.sh).
set -euo pipefail

cd "$(dirname "$0")"
root="$(pwd)"

export PATH="$PATH:/usr/sbin:/usr/lib/rabbitmq/bin"
if ! command -v rabbitmq-server >/dev/null 2>&1 || ! command -v rabbitmqctl >/dev/null 2>&1; then
    echo "test.sh: installing rabbitmq-server" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends rabbitmq-server openssl </dev/null
elif ! command -v openssl >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends openssl </dev/null
fi

node_dir="$(mktemp -d "${TMPDIR:-/tmp}/twyla-rabbitmq.XXXXXX")"
cleanup() {
    local rc=$?
    "$root/tests/rabbitmq-node.sh" stop "$node_dir" || true
    rm -rf "$node_dir"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$root/tests/rabbitmq-node.sh" init "$node_dir"
"$root/tests/rabbitmq-node.sh" start "$node_dir"

export TWYLA_RABBITMQ_DIR="$node_dir"
export TWYLA_RABBITMQ_NODE_SCRIPT="$root/tests/rabbitmq-node.sh"
Twyla__Amqp__Uri="$("$root/tests/rabbitmq-node.sh" uri "$node_dir")"
TWYLA_RABBITMQ_TLS_URI="$("$root/tests/rabbitmq-node.sh" tls-uri "$node_dir")"
export Twyla__Amqp__Uri TWYLA_RABBITMQ_TLS_URI TWYLA_RABBITMQ_CA_FILE="$node_dir/tls/ca.pem"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

set +e
dotnet test Twyla.Streams.sln --logger "console;verbosity=normal" "$@" </dev/null 2>&1 | tee "$node_dir/dotnet-test.log"
rc=${PIPESTATUS[0]}
if [ "${TWYLA_TEST_PACKAGES:-$([ $# -eq 0 ] && echo 1 || echo 0)}" = 1 ]; then
    "$root/tests/Packages/check-packages.sh" "$node_dir/packages" --no-build </dev/null 2>&1 | tee -a "$node_dir/dotnet-test.log"
    packages_rc=${PIPESTATUS[0]}
    [ "$rc" -ne 0 ] || rc=$packages_rc
fi
set -e
# One closing line for every test assembly together.
# The failed tests again, with the first lines of their messages, so that the end of the log names them.
awk '/^ +Failed [^ ]/ { n = 12; print "failed:" substr($0, index($0, "Failed") + 6) ; next }
     n > 0 && /^ +(Passed|Failed|Skipped) / { n = 0 }
     n > 0 { print "    " $0; n-- }' "$node_dir/dotnet-test.log" | cut -c1-300
awk '/^ +Passed: +[0-9]+$/ { p += $2 } /^ +Failed: +[0-9]+$/ { f += $2 } END { printf "%d passed, %d failed\n", p, f }' "$node_dir/dotnet-test.log"
exit "$rc"
