# shellcheck shell=bash
# Builds the cluster's base images once, caches them as OCI archives, imports them (sourced).
#   localhost/pause:3.2                the pod sandbox image (static pause.c from the k8s tree)
#   localhost/python:3.11-bookworm     Debian python3 + venv, stand-in for the app Dockerfile's base
#   localhost/mysql-standin:10.11      Debian MariaDB honouring the official mysql image's contract
# The python and mysql images also stay in buildah's storage (vfs) so Dockerfiles can build FROM them.

LK_ROOTFS="$LK_CACHE/rootfs"
LK_ARCHIVES="$LK_CACHE/images"
LK_BUILDAH=(buildah --storage-driver vfs)

LK_IMAGE_PAUSE=localhost/pause:3.2
LK_IMAGE_PYTHON=localhost/python:3.11-bookworm
LK_IMAGE_MYSQL=localhost/mysql-standin:10.11

archive_of() { local n=${1#localhost/}; echo "$LK_ARCHIVES/${n//[:\/]/_}.tar"; }

# debootstrap_base: a cached Debian bookworm minbase tree, the start of every image tree.
debootstrap_base() {
    local tree="$LK_ROOTFS/base"
    [[ -f $tree.done ]] && return 0
    rm -rf "$tree" && mkdir -p "$tree"
    debootstrap --variant=minbase bookworm "$tree" "$LK_DEBIAN_MIRROR"
    touch "$tree.done"
}

# image_tree NAME PACKAGES...: a cached copy of the base tree with PACKAGES installed.
image_tree() {
    local tree="$LK_ROOTFS/$1"; shift
    [[ -f $tree.done ]] && return 0
    debootstrap_base
    rm -rf "$tree" && cp -a "$LK_ROOTFS/base" "$tree"
    chroot_apt_install "$tree" "$@"
    touch "$tree.done"
}

# chroot_apt_install TREE PACKAGES...: install in the tree without starting any service.
chroot_apt_install() {
    local tree=$1; shift
    printf '#!/bin/sh\nexit 101\n' >"$tree/usr/sbin/policy-rc.d"
    chmod 0755 "$tree/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$tree/etc/resolv.conf"
    chroot "$tree" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
        apt-get install -y --no-install-recommends "$@"
    chroot "$tree" apt-get clean
    rm -f "$tree/usr/sbin/policy-rc.d" "$tree/etc/resolv.conf"
    rm -rf "$tree"/var/lib/apt/lists/* "$tree"/var/log/apt/* "$tree"/var/cache/debconf/*-old
}

# commit_tree TREE IMAGE CONFIG_ARGS...: a one-layer image from TREE in buildah's storage.
commit_tree() {
    local tree=$1 image=$2 ctr mnt; shift 2
    ctr=$("${LK_BUILDAH[@]}" from scratch)
    mnt=$("${LK_BUILDAH[@]}" mount "$ctr")
    cp -a "$tree/." "$mnt/"
    "${LK_BUILDAH[@]}" umount "$ctr" >/dev/null
    "${LK_BUILDAH[@]}" config --os linux --arch amd64 "$@" "$ctr"
    "${LK_BUILDAH[@]}" commit --quiet --rm "$ctr" "$image" >/dev/null
}

# save_archive IMAGE: OCI archive of a buildah image, the form ctr imports.
save_archive() {
    local image=$1 file
    file=$(archive_of "$image")
    mkdir -p "$LK_ARCHIVES"
    rm -f "$file"
    "${LK_BUILDAH[@]}" push --quiet "$image" "oci-archive:$file:$image"
}

buildah_has() { "${LK_BUILDAH[@]}" inspect --type image "$1" >/dev/null 2>&1; }

build_pause_image() {
    local file work
    file=$(archive_of "$LK_IMAGE_PAUSE")
    [[ -f $file ]] && return 0
    work=$(mktemp -d)
    LK_STEP_LOG="$LK_LOGS/image-pause.log"
    (
        set -e
        cd "$work"
        umoci init --layout layout
        umoci new --image layout:3.2
        umoci unpack --rootless --image layout:3.2 bundle
        install -m 0755 "$LK_BIN/pause" bundle/rootfs/pause
        umoci repack --image layout:3.2 bundle
        umoci config --image layout:3.2 --config.entrypoint /pause
        mkdir -p "$LK_ARCHIVES"
        tar -C layout -cf "$file.tmp" .
        mv "$file.tmp" "$file"
    ) >"$LK_STEP_LOG" 2>&1
    rm -rf "$work"
}

build_python_image() {
    local file tree="$LK_ROOTFS/python"
    file=$(archive_of "$LK_IMAGE_PYTHON")
    [[ -f $file ]] && buildah_has "$LK_IMAGE_PYTHON" && return 0
    LK_STEP_LOG="$LK_LOGS/image-python.log"
    {
        image_tree python python3 python3-venv python3-pip ca-certificates
        ln -sf /usr/bin/python3 "$tree/usr/local/bin/python"
        commit_tree "$tree" "$LK_IMAGE_PYTHON" --env LANG=C.UTF-8 --cmd python3
        save_archive "$LK_IMAGE_PYTHON"
    } >"$LK_STEP_LOG" 2>&1
}

# The mysql user gets uid/gid 999 as in the official image; the data dir is left empty so the
# entrypoint initialises it on first boot.
prepare_mysql_tree() {
    local tree=$1
    chroot "$tree" groupmod -g 999 mysql
    chroot "$tree" usermod -u 999 -g 999 mysql
    rm -rf "$tree"/var/lib/mysql/* "$tree"/var/log/mysql/*
    mkdir -p "$tree/var/lib/mysql" "$tree/run/mysqld" "$tree/var/log/mysql" "$tree/docker-entrypoint-initdb.d"
    chown 999:999 "$tree/var/lib/mysql" "$tree/run/mysqld" "$tree/var/log/mysql"
    chmod 0777 "$tree/run/mysqld"
    install -m 0644 "$LK_HERE/images/mysql-standin/99-standin.cnf" "$tree/etc/mysql/mariadb.conf.d/99-standin.cnf"
    install -m 0755 "$LK_HERE/images/mysql-standin/docker-entrypoint.sh" "$tree/usr/local/bin/docker-entrypoint.sh"
}

build_mysql_image() {
    local file tree="$LK_ROOTFS/mysql" stamp
    file=$(archive_of "$LK_IMAGE_MYSQL")
    # The entrypoint and config are inputs too: rebuild when they change.
    stamp=$(cat "$LK_HERE/images/mysql-standin/"* | sha256sum | cut -c1-16)
    [[ -f $file && $(cat "$file.inputs" 2>/dev/null) == "$stamp" ]] && buildah_has "$LK_IMAGE_MYSQL" && return 0
    LK_STEP_LOG="$LK_LOGS/image-mysql.log"
    {
        image_tree mysql mariadb-server mariadb-client
        prepare_mysql_tree "$tree"
        commit_tree "$tree" "$LK_IMAGE_MYSQL" --env LANG=C.UTF-8 --user 999:999 \
            --entrypoint '["docker-entrypoint.sh"]' --cmd mariadbd --port 3306/tcp \
            --volume /var/lib/mysql
        save_archive "$LK_IMAGE_MYSQL"
        echo "$stamp" >"$file.inputs"
    } >"$LK_STEP_LOG" 2>&1
}

build_images() {
    local start=$SECONDS
    build_pause_image
    build_python_image
    build_mysql_image
    report_time build-images $((SECONDS - start))
}

# ctr_has IMAGE: the cluster's containerd knows IMAGE.
# (No `| grep -q` here or below: with pipefail, grep's early exit fails the pipeline through SIGPIPE.)
ctr_has() { [[ $'\n'$(ctr_k8s images ls -q)$'\n' == *$'\n'"$1"$'\n'* ]]; }

# import_archive IMAGE FILE: import into containerd's k8s.io namespace under IMAGE's name.
import_archive() {
    local image=$1 file=$2
    ctr_k8s images import --base-name "${image%:*}" "$file" >>"$LK_LOGS/image-import.log" 2>&1 \
        || die "importing $image failed, see $LK_LOGS/image-import.log"
    ctr_has "$image" || die "$image missing after import, see $LK_LOGS/image-import.log"
}

# import_images: imports each base image containerd lacks or whose archive was rebuilt since it
# was imported; true when it imported any.
import_images() {
    local image file marker imported=1
    mkdir -p "$LK_STATE/imported"
    for image in "$LK_IMAGE_PAUSE" "$LK_IMAGE_PYTHON" "$LK_IMAGE_MYSQL"; do
        file=$(archive_of "$image")
        marker="$LK_STATE/imported/$(basename "$file")"
        if ! ctr_has "$image" || [[ $file -nt $marker ]]; then
            import_archive "$image" "$file"
            touch "$marker"
            imported=0
        fi
    done
    return $imported
}
