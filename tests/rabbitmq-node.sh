#!/usr/bin/env bash
# A private RabbitMQ node for the integration tests: own node name, loopback only, free ports,
# all state in one folder. Used by ./test.sh and by tests that kill and restart the broker.
#
#   tests/rabbitmq-node.sh init DIR      pick a node name and free ports, write DIR/node.env
#   tests/rabbitmq-node.sh start DIR     start the node (same name and ports) and wait until it answers
#   tests/rabbitmq-node.sh stop DIR      stop it gracefully (falls back to kill -9)
#   tests/rabbitmq-node.sh kill DIR      kill -9 the node's VM and wait until it is gone
#   tests/rabbitmq-node.sh restart DIR   kill -9, then start
#   tests/rabbitmq-node.sh uri DIR       print the AMQP URI
#   tests/rabbitmq-node.sh tls-uri DIR   print the AMQPS URI (TLS listener with a test CA: DIR/tls/ca.pem)
#   tests/rabbitmq-node.sh ctl DIR ARGS  run rabbitmqctl ARGS against the node (e.g. set_vm_memory_high_watermark 0)
#
# A local 3-node cluster (three nodes of their own on loopback, each in DIR/n1, DIR/n2, DIR/n3 with its own ports and
# data, one Erlang cookie), for the tests that kill the node holding a quorum queue's leader:
#
#   tests/rabbitmq-node.sh cluster-start DIR   init and start the three nodes, join n2 and n3 to n1 (join_cluster)
#   tests/rabbitmq-node.sh cluster-stop DIR    stop the three nodes
#   tests/rabbitmq-node.sh leader DIR QUEUE    print the folder (n1, n2 or n3) of the node holding QUEUE's leader
#
# A single node's commands (kill, start, uri, ctl) work on DIR/nK.
# DIR defaults to $TWYLA_RABBITMQ_DIR.
set -euo pipefail

RABBIT_BIN=/usr/lib/rabbitmq/bin
[ -x "$RABBIT_BIN/rabbitmq-server" ] || RABBIT_BIN="$(dirname "$(command -v rabbitmq-server)")"

cmd="${1:?usage: rabbitmq-node.sh init|start|stop|kill|restart|uri|tls-uri|ctl|cluster-start|cluster-stop|leader [DIR]}"
dir="${2:-${TWYLA_RABBITMQ_DIR:?set TWYLA_RABBITMQ_DIR or pass DIR}}"
start_timeout="${TWYLA_RABBITMQ_START_TIMEOUT:-90}"

log() { echo "rabbitmq-node: $*" >&2; }

port_in_use() {
    # A connect that succeeds means something listens there.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local port tries=0
    while :; do
        # AMQP (and TLS, +1) in 10000-19999, distribution 10000 above it: all below Linux's ephemeral range
        # (32768-60999 by default). A port inside it can be taken by any outgoing connection while a test has
        # the node killed, and the node then cannot start again ("could not bind to distribution port").
        port=$(( 10000 + (RANDOM * 32768 + RANDOM) % 10000 ))
        if ! port_in_use "$port" && ! port_in_use "$((port + 1))" && ! port_in_use "$((port + 10000))"; then
            echo "$port"
            return 0
        fi
        tries=$((tries + 1))
        [ "$tries" -lt 200 ] || { log "no free port found"; return 1; }
    done
}

node_env() {
    [ -f "$dir/node.env" ] || { log "$dir/node.env missing: run 'init' first"; exit 1; }
    # shellcheck disable=SC1091
    . "$dir/node.env"
    export HOME="$dir/home"                      # own Erlang cookie, for the node and rabbitmqctl
    export RABBITMQ_NODENAME="$NODE_NAME"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT="$AMQP_PORT"
    export RABBITMQ_DIST_PORT="$DIST_PORT"
    export RABBITMQ_MNESIA_BASE="$dir/mnesia"
    export RABBITMQ_LOG_BASE="$dir/log"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
    export RABBITMQ_CONFIG_FILE="$dir/rabbitmq"   # .conf is appended
    export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
    export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
    export RABBITMQ_PID_FILE="$dir/node.pid"
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export ERL_EPMD_ADDRESS=127.0.0.1
}

node_pid() { [ -s "$dir/node.pid" ] && cat "$dir/node.pid"; }

is_running() { local pid; pid=$(node_pid) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

do_init() {
    mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
    chmod 700 "$dir/home"
    if [ ! -f "$dir/node.env" ]; then
        local amqp dist
        amqp=$(free_port)
        dist=$((amqp + 10000))
        {
            echo "NODE_NAME=twyla-test-$$-$RANDOM@localhost"
            echo "AMQP_PORT=$amqp"
            echo "TLS_PORT=$((amqp + 1))"
            echo "DIST_PORT=$dist"
        } >"$dir/node.env"
    fi
    # shellcheck disable=SC1091
    . "$dir/node.env"
    if [ ! -f "$dir/tls/server.pem" ]; then
        # A throw-away CA and a server certificate for the name localhost only (not 127.0.0.1), for the TLS tests:
        # amqps://…@127.0.0.1:TLS_PORT/ reaches the same listener under a name the certificate does not carry.
        mkdir -p "$dir/tls"
        (
            cd "$dir/tls"
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=twyla-test-ca" \
                -keyout ca.key -out ca.pem >/dev/null 2>&1
            openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr >/dev/null 2>&1
            printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
                -extfile server.ext -out server.pem >/dev/null 2>&1
            chmod 644 ./*.pem ./*.key
        )
    fi
    [ -f "$dir/home/.erlang.cookie" ] || {
        head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/home/.erlang.cookie"
        chmod 400 "$dir/home/.erlang.cookie"
    }
    echo "[]." >"$dir/enabled_plugins"
    cat >"$dir/rabbitmq.conf" <<EOF
log.console = false
log.file.level = warning
listeners.ssl.1 = 127.0.0.1:$TLS_PORT
ssl_options.cacertfile = $dir/tls/ca.pem
ssl_options.certfile = $dir/tls/server.pem
ssl_options.keyfile = $dir/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
EOF
    echo "[]." >"$dir/advanced.config"
    : >"$dir/rabbitmq-env.conf"
}

do_start() {
    node_env
    if is_running; then log "node $NODE_NAME already running"; return 0; fi
    rm -f "$dir/node.pid"
    log "starting $NODE_NAME on 127.0.0.1:$AMQP_PORT"
    (cd "$dir" && { setsid "$RABBIT_BIN/rabbitmq-server" >>"$dir/log/startup.log" 2>&1 </dev/null & echo $! >"$dir/server.pid"; })
    local waited=0
    until [ -s "$dir/node.pid" ]; do
        sleep 0.5
        waited=$((waited + 1))
        if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null && [ ! -s "$dir/node.pid" ]; then
            log "node exited while starting; startup log:"; tail -50 "$dir/log/startup.log" >&2; exit 1
        fi
        if [ "$waited" -gt $((start_timeout * 2)) ]; then
            log "node did not write its pid file; startup log:"; tail -50 "$dir/log/startup.log" >&2; exit 1
        fi
    done
    if ! timeout "$start_timeout" "$RABBIT_BIN/rabbitmqctl" -n "$NODE_NAME" -q await_startup --timeout "$start_timeout" >/dev/null; then
        log "node did not start within ${start_timeout}s; startup log:"; tail -50 "$dir/log/startup.log" >&2; exit 1
    fi
    until port_in_use "$AMQP_PORT"; do sleep 0.2; done
    log "node $NODE_NAME is up (pid $(node_pid))"
}

do_kill() {
    node_env
    local pid
    if pid=$(node_pid) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        log "kill -9 $pid ($NODE_NAME)"
        kill -9 "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$dir/node.pid"
    # The name must be free in epmd before the node starts again.
    local n=0
    while "$RABBIT_BIN/rabbitmqctl" -n "$NODE_NAME" -q ping >/dev/null 2>&1 && [ $n -lt 50 ]; do sleep 0.2; n=$((n + 1)); done
}

do_stop() {
    node_env
    if ! is_running; then rm -f "$dir/node.pid"; return 0; fi
    log "stopping $NODE_NAME"
    timeout 30 "$RABBIT_BIN/rabbitmqctl" -n "$NODE_NAME" -q stop >/dev/null 2>&1 || true
    local n=0
    while is_running && [ $n -lt 100 ]; do sleep 0.2; n=$((n + 1)); done
    is_running && do_kill
    rm -f "$dir/node.pid"
}

# Runs this script for one node of the cluster (a subshell: node_env exports are per node).
member() { "$0" "$1" "$dir/$2" "${@:3}"; }

do_cluster_start() {
    mkdir -p "$dir"
    local n
    for n in n1 n2 n3; do member init "$n"; done
    # One cookie for the three nodes, so they (and rabbitmqctl from any folder) can talk to each other.
    for n in n2 n3; do
        chmod 600 "$dir/$n/home/.erlang.cookie"
        cp "$dir/n1/home/.erlang.cookie" "$dir/$n/home/.erlang.cookie"
        chmod 400 "$dir/$n/home/.erlang.cookie"
    done
    # The three boot at once (most of the start is the VM's boot); n2 and n3 then join n1 one after the other.
    local pids=() failed=0
    for n in n1 n2 n3; do member start "$n" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
    [ "$failed" = 0 ] || { log "a cluster node did not start"; return 1; }
    local first
    first="$(. "$dir/n1/node.env"; echo "$NODE_NAME")"
    for n in n2 n3; do
        member ctl "$n" stop_app
        member ctl "$n" join_cluster "$first"
        member ctl "$n" start_app
    done
    member ctl n1 await_online_nodes 3 >/dev/null
    log "cluster of 3 nodes up in $dir"
}

do_cluster_stop() {
    local n p pids=() vms=()
    for n in n1 n2 n3; do
        [ -s "$dir/$n/node.pid" ] && vms+=("$(cat "$dir/$n/node.pid")")
        [ -f "$dir/$n/node.env" ] && { member stop "$n" & pids+=($!); }
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    # A node removes its pid file when it starts halting: wait until the VMs are gone, so the folder can be deleted.
    for p in "${vms[@]}"; do
        n=0
        while kill -0 "$p" 2>/dev/null && [ $n -lt 150 ]; do sleep 0.2; n=$((n + 1)); done
    done
}

do_leader() {
    local queue="${3:?usage: rabbitmq-node.sh leader DIR QUEUE}" n leader=""
    # Ask any node that answers: the one holding the leader may be the one a test killed before.
    for n in n1 n2 n3; do
        leader=$(member ctl "$n" list_queues --no-table-headers name leader 2>/dev/null | awk -v q="$queue" -F'\t' '$1 == q { print $2 }') && [ -n "$leader" ] && break
    done
    [ -n "$leader" ] || { log "no leader known for queue $queue"; return 1; }
    for n in n1 n2 n3; do
        if [ "$(. "$dir/$n/node.env"; echo "$NODE_NAME")" = "$leader" ]; then echo "$n"; return 0; fi
    done
    log "leader $leader of $queue is not a node of $dir"; return 1
}

case "$cmd" in
    init) do_init ;;
    cluster-start) do_cluster_start ;;
    cluster-stop) do_cluster_stop ;;
    leader) do_leader "$@" ;;
    start) do_start ;;
    stop) do_stop ;;
    kill) do_kill ;;
    restart) do_kill; do_start ;;
    uri) node_env; echo "amqp://guest:guest@127.0.0.1:$AMQP_PORT/" ;;
    tls-uri) node_env; echo "amqps://guest:guest@localhost:$TLS_PORT/" ;;
    ctl) node_env; shift 2; timeout 60 "$RABBIT_BIN/rabbitmqctl" -n "$NODE_NAME" -q "$@" ;;
    *) log "unknown command '$cmd'"; exit 2 ;;
esac
