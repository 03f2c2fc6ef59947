# shellcheck shell=bash
# Builds the Kubernetes binaries once from Debian's `kubernetes` source package (sourced).
# Result: $LK_BIN/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,kube-proxy,kubectl}
# and the static pause binary. Nothing is rebuilt when every binary is already there.

LK_K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

binaries_present() {
    local b
    for b in "${LK_K8S_BINARIES[@]}" pause; do [[ -x $LK_BIN/$b ]] || return 1; done
}

# fetch_source DIR: downloads the source package with a private deb-src list, leaving the
# machine's apt configuration untouched.
fetch_source() {
    local dir=$1 apt_dir="$1/apt"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
    cat >"$apt_dir/sources.list" <<SRC
deb-src $LK_DEBIAN_MIRROR bookworm main
deb-src $LK_DEBIAN_MIRROR bookworm-updates main
deb-src ${LK_DEBIAN_MIRROR%/debian*}/debian-security bookworm-security main
SRC
    local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
                -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
    apt-get "${opts[@]}" update >"$LK_LOGS/build-source.log" 2>&1 || die "apt-get update (deb-src) failed, see $LK_LOGS/build-source.log"
    (cd "$dir" && apt-get "${opts[@]}" source --download-only "kubernetes=$LK_K8S_SRC_VERSION") \
        >>"$LK_LOGS/build-source.log" 2>&1 || die "apt-get source kubernetes failed, see $LK_LOGS/build-source.log"
}

# unpack_tree DIR: the orig tarball is the whole upstream tree, vendor/ included.
unpack_tree() {
    local dir=$1 orig
    orig=$(find "$dir" -maxdepth 1 -name "kubernetes_*.orig.tar.*" | head -n1)
    [[ -n $orig ]] || die "no orig tarball in $dir"
    rm -rf "$dir/tree" && mkdir -p "$dir/tree"
    tar -xf "$orig" -C "$dir/tree" --strip-components=1
}

# Vendored reflect2 1.0.1 crashes on Go >= 1.18: use Debian's 1.0.2 and keep go.mod/modules.txt.
apply_reflect2_fix() {
    local vendored="$1/vendor/github.com/modern-go/reflect2"
    rm -rf "$vendored"
    cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$vendored"
    rm -f "$vendored/go.mod"
}

# build_pause_binary TREE: the static pause binary of the pod sandbox image (seconds; built before the Go build,
# so the images can be built meanwhile).
build_pause_binary() {
    [[ -x $LK_BIN/pause ]] && return 0
    mkdir -p "$LK_BIN"
    gcc -Os -static -o "$LK_BIN/pause" "$1/build/pause/linux/pause.c" >>"$LK_LOGS/build-k8s.log" 2>&1 \
        || die "pause build failed, see $LK_LOGS/build-k8s.log"
}

# prepare_binaries: the source tree unpacked and patched, and the pause binary; nothing when every binary is
# already there. `cluster up` builds the images while build_binaries compiles.
prepare_binaries() {
    binaries_present && return 0
    local work="$LK_CACHE/src"
    mkdir -p "$work" "$LK_BIN" "$LK_LOGS"
    : >"$LK_LOGS/build-k8s.log"
    ls "$work"/kubernetes_*.orig.tar.* >/dev/null 2>&1 || fetch_source "$work"
    unpack_tree "$work"
    apply_reflect2_fix "$work/tree"
    build_pause_binary "$work/tree"
}

# The tarball ships every generated file but the API server's OpenAPI definitions: generate only those
# (`make all` would first rebuild and rerun five code generators whose output is already there), then build
# just the binaries the cluster runs. The linker already gets -s -w (no symbol table, no DWARF) from
# hack/lib/golang.sh.
build_binaries() {
    binaries_present && return 0
    [[ -d $LK_CACHE/src/tree ]] || prepare_binaries
    local work="$LK_CACHE/src" start=$SECONDS
    local tree="$work/tree"
    log "building Kubernetes $LK_K8S_VERSION from Debian source (several minutes; log: $LK_LOGS/build-k8s.log)"
    # As debian/rules does: a GOPATH whose k8s.io/kubernetes is the tree itself.
    mkdir -p "$tree/.go/src/k8s.io"
    ln -sfn ../../.. "$tree/.go/src/k8s.io/kubernetes"
    (
        cd "$tree"
        export GOPATH="$tree/.go" GOCACHE="$work/gocache" CGO_ENABLED=0 GO111MODULE=off PATH="$LK_GO:$PATH"
        export GOFLAGS="" KUBE_GIT_VERSION="v$LK_K8S_VERSION" KUBE_GIT_TREE_STATE=clean
        make gen_openapi
        hack/make-rules/build.sh cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet \
            cmd/kube-proxy cmd/kubectl
    ) >>"$LK_LOGS/build-k8s.log" 2>&1 || die "Kubernetes build failed, see $LK_LOGS/build-k8s.log"
    local b
    for b in "${LK_K8S_BINARIES[@]}"; do install -m 0755 "$tree/_output/bin/$b" "$LK_BIN/$b"; done
    build_pause_binary "$tree"
    rm -rf "$tree" "$work/gocache"
    report_time build-binaries $((SECONDS - start))
}
