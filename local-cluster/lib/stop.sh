# shellcheck shell=bash
# Stops the local cluster: every process by its recorded PID, then the network and mounts it made (sourced).

# Pod containers first, through containerd, so no shim or container outlives the cluster.
stop_pod_tasks() {
    pid_alive containerd || return 0
    local ids id remaining
    ids=$(ctr_k8s tasks ls -q 2>/dev/null || true)
    for id in $ids; do ctr_k8s tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
    # containerd's CRI plugin deletes exited tasks itself; delete whatever it leaves.
    for _ in $(seq 1 30); do
        remaining=$(ctr_k8s tasks ls -q 2>/dev/null || true)
        [[ -z $remaining ]] && break
        for id in $remaining; do ctr_k8s tasks delete "$id" >/dev/null 2>&1 || true; done
        sleep 0.5
    done
    for id in $(ctr_k8s containers ls -q 2>/dev/null || true); do
        ctr_k8s containers delete "$id" >/dev/null 2>&1 || true
    done
    [[ -z $ids ]] || log "stopped $(wc -w <<<"$ids") pod containers"
}

# Rules and chains left by kube-proxy, kubelet (KUBE-FIREWALL, KUBE-MARK-*, canaries) and the CNI
# bridge/portmap plugins.
clean_iptables() {
    if [[ -x $LK_BIN/kube-proxy ]]; then "$LK_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true; fi
    local table chain rule
    for table in nat filter mangle; do
        # Rules in built-in chains that jump to such a chain, then the chains themselves.
        iptables -t "$table" -S 2>/dev/null | awk '/^-A [A-Z]+ .*-j (CNI|KUBE)-/' | while read -r rule; do
            eval "iptables -t $table ${rule/-A/-D}" 2>/dev/null || true
        done
        for chain in $(iptables -t "$table" -S 2>/dev/null | awk '/^-N (CNI|KUBE)-/ {print $2}'); do
            iptables -t "$table" -F "$chain" 2>/dev/null || true
        done
        for chain in $(iptables -t "$table" -S 2>/dev/null | awk '/^-N (CNI|KUBE)-/ {print $2}'); do
            iptables -t "$table" -X "$chain" 2>/dev/null || true
        done
    done
}

# Mounts made by kubelet (secret/projected volumes) and containerd (netns, rootfs), deepest first.
unmount_state() {
    local m
    awk -v state="$LK_STATE/" 'index($2, state) == 1 || $2 ~ "^(/var)?/run/netns/cni-" {print $2}' /proc/mounts |
        sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -f /run/netns/cni-* 2>/dev/null || true
}

clean_network() {
    ip link show "$LK_CNI_BRIDGE" >/dev/null 2>&1 && ip link delete "$LK_CNI_BRIDGE"
    ip link show "$LK_BRIDGE" >/dev/null 2>&1 && ip link delete "$LK_BRIDGE"
    rm -rf "$LK_STATE/cni/ipam"
    if [[ -f $LK_STATE/ip_forward.orig ]]; then
        sysctl -qw "net.ipv4.ip_forward=$(<"$LK_STATE/ip_forward.orig")"
        rm -f "$LK_STATE/ip_forward.orig"
    fi
    return 0
}

stop_cluster() {
    stop_daemons dns-sync hostpath-provisioner dnsmasq kube-proxy kube-scheduler kube-controller-manager kubelet
    stop_pod_tasks
    stop_daemons containerd kube-apiserver
    stop_daemons etcd
    clean_iptables
    unmount_state
    clean_network
}
