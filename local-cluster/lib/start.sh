# shellcheck shell=bash
# Starts each component of the local cluster; every step is skipped when already done (sourced).

render() {  # render TEMPLATE DEST: fill @VAR@ placeholders
    sed -e "s|@STATE@|$LK_STATE|g" -e "s|@CTR_SOCK@|$LK_CTR_SOCK|g" \
        -e "s|@CNI_BRIDGE@|$LK_CNI_BRIDGE|g" -e "s|@POD_CIDR@|$LK_POD_CIDR|g" "$1" >"$2.tmp"
    mv "$2.tmp" "$2"
}

# The node address lives on a bridge of its own: kubelet needs a non-loopback InternalIP.
setup_network() {
    if ! ip link show "$LK_BRIDGE" >/dev/null 2>&1; then
        ip link add "$LK_BRIDGE" type bridge
    fi
    [[ $(ip -4 addr show dev "$LK_BRIDGE") == *"inet $LK_NODE_IP/"* ]] || ip addr add "$LK_NODE_IP/32" dev "$LK_BRIDGE"
    ip link set "$LK_BRIDGE" up
    if [[ ! -f $LK_STATE/ip_forward.orig ]]; then
        sysctl -n net.ipv4.ip_forward >"$LK_STATE/ip_forward.orig"
    fi
    sysctl -qw net.ipv4.ip_forward=1
    if [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then
        sysctl -qw net.bridge.bridge-nf-call-iptables=1
    fi
}

start_etcd() {
    mkdir -p "$LK_STATE/etcd" && chmod 0700 "$LK_STATE/etcd"
    start_daemon etcd etcd --name local-k8s --data-dir "$LK_STATE/etcd" \
        --listen-client-urls http://127.0.0.1:12379 --advertise-client-urls http://127.0.0.1:12379 \
        --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
        --initial-cluster local-k8s=http://127.0.0.1:12380 --listen-metrics-urls http://127.0.0.1:12381
    wait_for 60 etcd curl -sf http://127.0.0.1:12379/health
}

start_containerd() {
    mkdir -p "$LK_STATE/cni/net.d" "$LK_STATE/run/containerd"
    render "$LK_HERE/config/containerd.toml.in" "$LK_STATE/containerd.toml"
    render "$LK_HERE/config/cni.conflist.in" "$LK_STATE/cni/net.d/10-local-k8s.conflist"
    start_daemon containerd containerd --config "$LK_STATE/containerd.toml"
    wait_for 60 containerd ctr --address "$LK_CTR_SOCK" version
    # Freshly imported images are seen reliably by the CRI plugin after a restart.
    if import_images; then
        stop_daemons containerd
        start_daemon containerd containerd --config "$LK_STATE/containerd.toml"
        wait_for 60 containerd ctr --address "$LK_CTR_SOCK" version
    fi
}

start_apiserver() {
    local pki=$LK_PKI gates=TTLAfterFinished=true
    start_daemon kube-apiserver "$LK_BIN/kube-apiserver" \
        --etcd-servers=http://127.0.0.1:12379 \
        --bind-address="$LK_NODE_IP" --advertise-address="$LK_NODE_IP" --secure-port=6443 --insecure-port=0 \
        --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
        --client-ca-file="$pki/ca.crt" \
        --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
        --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
        --kubelet-preferred-address-types=InternalIP \
        --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
        --service-account-issuer="https://kubernetes.default.svc.$LK_DOMAIN" \
        --service-cluster-ip-range="$LK_SERVICE_CIDR" \
        --authorization-mode=Node,RBAC --allow-privileged=true \
        --feature-gates="$gates"
    wait_for 90 kube-apiserver kubectl_admin get --raw /readyz
}

start_controllers() {
    local gates=TTLAfterFinished=true
    start_daemon kube-controller-manager "$LK_BIN/kube-controller-manager" \
        --kubeconfig="$LK_STATE/controller-manager.kubeconfig" \
        --authentication-kubeconfig="$LK_STATE/controller-manager.kubeconfig" \
        --authorization-kubeconfig="$LK_STATE/controller-manager.kubeconfig" \
        --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
        --service-account-private-key-file="$LK_PKI/sa.key" --root-ca-file="$LK_PKI/ca.crt" \
        --cluster-signing-cert-file="$LK_PKI/ca.crt" --cluster-signing-key-file="$LK_PKI/ca.key" \
        --service-cluster-ip-range="$LK_SERVICE_CIDR" --feature-gates="$gates"
    start_daemon kube-scheduler "$LK_BIN/kube-scheduler" \
        --kubeconfig="$LK_STATE/scheduler.kubeconfig" \
        --authentication-kubeconfig="$LK_STATE/scheduler.kubeconfig" \
        --authorization-kubeconfig="$LK_STATE/scheduler.kubeconfig" \
        --bind-address=127.0.0.1 --leader-elect=false
}

start_kubelet() {
    mkdir -p "$LK_STATE/kubelet"
    start_daemon kubelet "$LK_BIN/kubelet" \
        --kubeconfig="$LK_STATE/kubelet.kubeconfig" --root-dir="$LK_STATE/kubelet" \
        --cert-dir="$LK_STATE/kubelet/pki" \
        --container-runtime=remote --container-runtime-endpoint="unix://$LK_CTR_SOCK" \
        --runtime-request-timeout=10m \
        --pod-infra-container-image=localhost/pause:3.2 \
        --hostname-override="$LK_NODE_NAME" --node-ip="$LK_NODE_IP" --address="$LK_NODE_IP" \
        --cluster-dns="$LK_DNS_IP" --cluster-domain="$LK_DOMAIN" \
        --fail-swap-on=false --cgroup-driver=cgroupfs \
        --anonymous-auth=false --client-ca-file="$LK_PKI/ca.crt" --authorization-mode=AlwaysAllow \
        --read-only-port=0 --healthz-bind-address=127.0.0.1 \
        --eviction-hard='memory.available<100Mi,nodefs.available<1%,imagefs.available<1%' \
        --image-gc-high-threshold=100 --image-gc-low-threshold=99 \
        --volume-plugin-dir="$LK_STATE/kubelet/volume-plugins" \
        --feature-gates=TTLAfterFinished=true
}

start_kube_proxy() {
    start_daemon kube-proxy "$LK_BIN/kube-proxy" \
        --kubeconfig="$LK_STATE/kube-proxy.kubeconfig" --hostname-override="$LK_NODE_NAME" \
        --proxy-mode=iptables --cluster-cidr="$LK_POD_CIDR" --conntrack-max-per-core=0 \
        --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 \
        --metrics-bind-address=127.0.0.1:10249 --healthz-bind-address=127.0.0.1:10256
}

start_dns() {
    mkdir -p "$LK_STATE/dns"
    [[ -f $LK_STATE/dns/hosts ]] || : >"$LK_STATE/dns/hosts"
    chmod 0644 "$LK_STATE/dns/hosts"
    start_daemon dnsmasq dnsmasq --keep-in-foreground --log-facility=- --conf-file=/dev/null \
        --listen-address="$LK_DNS_IP" --bind-interfaces --no-hosts \
        --addn-hosts="$LK_STATE/dns/hosts" --local="/$LK_DOMAIN/" --domain-needed \
        --user=nobody --pid-file="$LK_RUN/dnsmasq.pid" --cache-size=0
    start_daemon dns-sync python3 "$LK_HERE/glue/dns-sync" --kubectl "$LK_BIN/kubectl" \
        --kubeconfig "$LK_KUBECONFIG" --hosts "$LK_STATE/dns/hosts" --dnsmasq-pidfile "$LK_PIDS/dnsmasq.pid"
}

start_provisioner() {
    kubectl_admin apply -f "$LK_HERE/config/storageclass.yaml" >/dev/null
    start_daemon hostpath-provisioner python3 "$LK_HERE/glue/hostpath-provisioner" \
        --kubectl "$LK_BIN/kubectl" --kubeconfig "$LK_KUBECONFIG" --root "$LK_STATE/volumes"
}

node_ready() {
    [[ $(kubectl_admin get node "$LK_NODE_NAME" \
        -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}

dns_answers() { python3 "$LK_HERE/glue/dns-query" "$LK_DNS_IP" "kubernetes.default.svc.$LK_DOMAIN"; }

default_storageclass() {
    [[ $(kubectl_admin get storageclass standard \
        -o jsonpath='{.metadata.annotations.storageclass\.kubernetes\.io/is-default-class}') == true ]]
}
