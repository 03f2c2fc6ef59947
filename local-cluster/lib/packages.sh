# shellcheck shell=bash
# Installs the Debian packages the local cluster needs, only those missing (sourced).

LK_PACKAGES=(
    etcd-server containerd runc containernetworking-plugins dnsmasq-base
    buildah debootstrap umoci golang-1.19-go golang-github-modern-go-reflect2-dev
    iptables conntrack gcc libc6-dev make rsync dpkg-dev iproute2 procps openssl
    curl ca-certificates python3
)

ensure_packages() {
    local missing=() p
    for p in "${LK_PACKAGES[@]}"; do
        [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$LK_LOGS/apt.log" 2>&1 \
        || { apt-get update >>"$LK_LOGS/apt.log" 2>&1 &&
             DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$LK_LOGS/apt.log" 2>&1; } \
        || die "apt-get install failed, see $LK_LOGS/apt.log"
}
