# shellcheck shell=bash
# Shared settings and helpers for the local cluster scripts (sourced, not run).
# shellcheck disable=SC2034  # settings used by the scripts that source this file
# Every path and address here matches docs/architecture.md "The local cluster".

LK_STATE=/var/lib/local-k8s            # runtime state: certs, configs, pids, logs, volumes
LK_CACHE=/var/cache/local-k8s          # build cache: binaries, debootstrap trees, image archives
LK_BIN="$LK_CACHE/bin"
LK_LOGS="$LK_STATE/logs"
LK_PIDS="$LK_STATE/pids"
LK_RUN="$LK_STATE/run"
LK_KUBECONFIG="$LK_STATE/kubeconfig"
LK_CONTEXT=local-k8s
LK_NODE_IP=198.18.255.1
LK_BRIDGE=k8s0                         # holds the node address
LK_CNI_BRIDGE=cni-k8s                  # made by the CNI bridge plugin for pods
LK_POD_CIDR=198.18.0.0/24
LK_SERVICE_CIDR=198.19.0.0/16
LK_KUBERNETES_SVC_IP=198.19.0.1
LK_DNS_IP=$LK_NODE_IP                  # dnsmasq listens on the node address
LK_DOMAIN=cluster.local
LK_NODE_NAME=local-k8s
LK_CTR_SOCK="$LK_RUN/containerd/containerd.sock"
LK_K8S_VERSION=1.20.2
LK_K8S_SRC_VERSION=1.20.5+really1.20.2-1.1+deb12u1
LK_GO=/usr/lib/go-1.19/bin
# The Debian mirror this machine's apt already uses (deb822 or one-line sources), else deb.debian.org.
lk_debian_mirror() {
    local uri
    uri=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
        awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i} /^deb / {print ($2 ~ /^\[/ ? $3 : $2)}' |
        awk '/\/debian\/?$/ {print; exit}')
    echo "${uri:-http://deb.debian.org/debian}"
}
LK_DEBIAN_MIRROR=$(lk_debian_mirror)
LK_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

LK_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Scripts run with `set -Eeuo pipefail` and `trap on_error ERR`: any failing step stops the run with
# its location and, when set, the log of the step (LK_STEP_LOG). Steps are not written as
# `{ ...; } || die`, since bash ignores errexit inside such a list.
LK_STEP_LOG=""
on_error() {
    printf '%s local-cluster: error: exit %s at %s:%s%s\n' "$(date -u +%H:%M:%S)" "$1" \
        "${BASH_SOURCE[1]##*/}" "${BASH_LINENO[0]}" "${LK_STEP_LOG:+ (log: $LK_STEP_LOG)}" >&2
}

log() { printf '%s local-cluster: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The one place time figures are printed (stdout, one line each).
report_time() { printf 'timing: %s %ss\n' "$1" "$2"; }

ctr_k8s() { ctr --address "$LK_CTR_SOCK" -n k8s.io "$@"; }

kubectl_admin() { "$LK_BIN/kubectl" --kubeconfig "$LK_KUBECONFIG" --context "$LK_CONTEXT" "$@"; }

# proc_running PID: the process exists and is not a zombie waiting for its parent to reap it.
proc_running() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ -n $state && $state != Z* ]]
}

# pid_alive NAME: true when the process recorded for NAME still runs.
pid_alive() {
    local file="$LK_PIDS/$1.pid" pid
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    [[ -n $pid ]] && proc_running "$pid"
}

# start_daemon NAME CMD...: run CMD in the background, its output in logs/NAME.log, its PID recorded.
start_daemon() {
    local name=$1; shift
    if pid_alive "$name"; then return 0; fi
    mkdir -p "$LK_LOGS" "$LK_PIDS"
    # fd 9 is the lock of `cluster up/down`: a daemon must not keep holding it.
    setsid "$@" >>"$LK_LOGS/$name.log" 2>&1 </dev/null 9>&- &
    echo $! >"$LK_PIDS/$name.pid"
}

# stop_daemons NAME...: TERM each recorded PID together, KILL what still runs after 10 s,
# forget the PIDs.
stop_daemons() {
    local name pid alive pids=() names=()
    for name in "$@"; do
        if pid_alive "$name"; then
            pid=$(<"$LK_PIDS/$name.pid")
            kill "$pid" 2>/dev/null || true
            pids+=("$pid") names+=("$name:$pid")
        fi
        rm -f "$LK_PIDS/$name.pid"
    done
    ((${#pids[@]})) || return 0
    for _ in $(seq 1 50); do
        alive=0
        for pid in "${pids[@]}"; do proc_running "$pid" && alive=1; done
        ((alive)) || break
        sleep 0.2
    done
    for pid in "${pids[@]}"; do
        if proc_running "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
    done
    log "stopped ${names[*]}"
}

# wait_for SECONDS DESCRIPTION CMD...: retry CMD every second until it succeeds.
wait_for() {
    local limit=$1 what=$2 i; shift 2
    for ((i = 0; i < limit; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    die "timed out after ${limit}s waiting for $what (logs in $LK_LOGS)"
}
