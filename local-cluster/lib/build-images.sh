# shellcheck shell=bash
# Builds the cluster's base images once, caches them as OCI archives, imports them (sourced).
#   localhost/pause:3.2                the pod sandbox image (static pause.c from the k8s tree)
#   localhost/python:3.11-bookworm     Debian python3 + venv, stand-in for the app Dockerfile's base
#   localhost/mysql:9.7                the real MySQL server (Debian unstable's mysql-server-core), honouring
#                                      the official mysql image's contract; skipped, saying so in one line,
#                                      when unstable no longer ships it (the MariaDB image then stands in)
#   localhost/mariadb-standin:10.11    Debian MariaDB honouring the same contract (the second flavour);
#                                      also tagged with its former name localhost/mysql-standin:10.11
# The python and MariaDB images also stay in buildah's storage (vfs) so Dockerfiles can build FROM them.
# The MySQL tree (rootfs/mysql-sid) is also what tests/app's throwaway MySQL runs in (local-cluster/mysql-rootfs).

LK_ROOTFS="$LK_CACHE/rootfs"
LK_ARCHIVES="$LK_CACHE/images"
LK_BUILDAH=(buildah --storage-driver vfs)

LK_IMAGE_PAUSE=localhost/pause:3.2
LK_IMAGE_PYTHON=localhost/python:3.11-bookworm
LK_MYSQL_SERIES=9.7                    # the MySQL release the image is tagged with and inventory/local names
LK_IMAGE_MYSQL=localhost/mysql:$LK_MYSQL_SERIES
LK_IMAGE_MARIADB=localhost/mariadb-standin:10.11
LK_IMAGE_MARIADB_ALIAS=localhost/mysql-standin:10.11   # the MariaDB image's former name, for older checkouts
LK_MYSQL_TREE="$LK_ROOTFS/mysql-sid"
# Written instead of the MySQL tree when unstable cannot give it: one line saying why.
LK_MYSQL_UNAVAILABLE="$LK_ROOTFS/mysql-sid.unavailable"

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
prepare_mariadb_tree() {
    local tree=$1
    chroot "$tree" groupmod -g 999 mysql
    chroot "$tree" usermod -u 999 -g 999 mysql
    rm -rf "$tree"/var/lib/mysql/* "$tree"/var/log/mysql/*
    mkdir -p "$tree/var/lib/mysql" "$tree/run/mysqld" "$tree/var/log/mysql" "$tree/docker-entrypoint-initdb.d"
    chown 999:999 "$tree/var/lib/mysql" "$tree/run/mysqld" "$tree/var/log/mysql"
    chmod 0777 "$tree/run/mysqld"
    install -m 0644 "$LK_HERE/images/mariadb-standin/99-standin.cnf" "$tree/etc/mysql/mariadb.conf.d/99-standin.cnf"
    install -m 0755 "$LK_HERE/images/docker-entrypoint.sh" "$tree/usr/local/bin/docker-entrypoint.sh"
}

# inputs_stamp DIR...: hash of the files an image is made from beyond its packages (rebuild when they change).
inputs_stamp() { cat "$LK_HERE/images/docker-entrypoint.sh" "$1"/* | sha256sum | cut -c1-16; }

build_mariadb_image() {
    local file tree="$LK_ROOTFS/mysql" stamp
    file=$(archive_of "$LK_IMAGE_MARIADB")
    stamp=$(inputs_stamp "$LK_HERE/images/mariadb-standin")
    [[ -f $file && $(cat "$file.inputs" 2>/dev/null) == "$stamp" ]] && buildah_has "$LK_IMAGE_MARIADB" && return 0
    LK_STEP_LOG="$LK_LOGS/image-mariadb.log"
    {
        image_tree mysql mariadb-server mariadb-client
        prepare_mariadb_tree "$tree"
        commit_tree "$tree" "$LK_IMAGE_MARIADB" --env LANG=C.UTF-8 --user 999:999 \
            --entrypoint '["docker-entrypoint.sh"]' --cmd mariadbd --port 3306/tcp \
            --volume /var/lib/mysql
        save_archive "$LK_IMAGE_MARIADB"
        echo "$stamp" >"$file.inputs"
    } >"$LK_STEP_LOG" 2>&1
}

# debootstrap_sid: a cached Debian unstable minbase tree, the only suite that ships the real MySQL server.
# Its Release file on the mirror may be past its validity date, hence Check-Valid-Until=false inside it.
debootstrap_sid() {
    local tree="$LK_ROOTFS/sid-base"
    [[ -f $tree.done ]] && return 0
    rm -rf "$tree" && mkdir -p "$tree"
    if ! debootstrap --variant=minbase sid "$tree" "$LK_DEBIAN_MIRROR"; then
        echo "debootstrap of Debian unstable failed" >"$LK_MYSQL_UNAVAILABLE"
        return 0
    fi
    touch "$tree.done"
}

# mysql_tree: the cached unstable tree with mysql-server-core and mysql-client-core, the mysql user as
# uid/gid 999 and the official image's directories. When unstable cannot give MySQL $LK_MYSQL_SERIES, it
# writes why to $LK_MYSQL_UNAVAILABLE instead (checked again on the next build). One builder at a time:
# `cluster up` and local-cluster/mysql-rootfs (the app tests) may ask together.
mysql_tree() {
    [[ -f $LK_MYSQL_TREE.done ]] && return 0
    mkdir -p "$LK_ROOTFS"
    exec 8>"$LK_ROOTFS/mysql-sid.lock"
    flock 8
    build_mysql_tree
    exec 8>&-
}

build_mysql_tree() {
    local tree=$LK_MYSQL_TREE candidate
    [[ -f $tree.done ]] && return 0
    rm -f "$LK_MYSQL_UNAVAILABLE"
    debootstrap_sid
    [[ -f $LK_MYSQL_UNAVAILABLE ]] && return 0
    rm -rf "$tree" && cp -a "$LK_ROOTFS/sid-base" "$tree"
    cp /etc/resolv.conf "$tree/etc/resolv.conf"
    chroot "$tree" apt-get -o Acquire::Check-Valid-Until=false update
    candidate=$(chroot "$tree" apt-cache policy mysql-server-core | awk '/Candidate:/ {print $2}')
    if [[ -z $candidate || $candidate == "(none)" ]]; then
        echo "Debian unstable no longer ships mysql-server-core" >"$LK_MYSQL_UNAVAILABLE"
    elif [[ $candidate != "$LK_MYSQL_SERIES".* ]]; then
        echo "Debian unstable now ships mysql-server-core $candidate, not $LK_MYSQL_SERIES (update LK_MYSQL_SERIES and inventory/local)" >"$LK_MYSQL_UNAVAILABLE"
    fi
    if [[ -f $LK_MYSQL_UNAVAILABLE ]]; then rm -rf "$tree"; return 0; fi
    chroot_apt_install "$tree" mysql-server-core mysql-client-core
    chroot "$tree" groupadd --system --gid 999 mysql
    chroot "$tree" useradd --system --uid 999 --gid 999 --home-dir /var/lib/mysql --shell /usr/sbin/nologin mysql
    mkdir -p "$tree/var/lib/mysql" "$tree/var/lib/mysql-files" "$tree/run/mysqld" "$tree/docker-entrypoint-initdb.d"
    chown 999:999 "$tree/var/lib/mysql" "$tree/var/lib/mysql-files" "$tree/run/mysqld"
    chmod 0750 "$tree/var/lib/mysql-files"
    touch "$tree.done"
}

build_mysql_image() {
    local file stamp mnt ctr
    file=$(archive_of "$LK_IMAGE_MYSQL")
    stamp=$(inputs_stamp "$LK_HERE/images/mysql")
    [[ -f $file && $(cat "$file.inputs" 2>/dev/null) == "$stamp" ]] && return 0
    LK_STEP_LOG="$LK_LOGS/image-mysql.log"
    mysql_tree >"$LK_STEP_LOG" 2>&1
    if [[ -f $LK_MYSQL_UNAVAILABLE ]]; then
        log "real MySQL image not built: $(<"$LK_MYSQL_UNAVAILABLE"); falling back to MariaDB ($LK_IMAGE_MARIADB, local_mysql_flavor=mariadb)"
        return 0
    fi
    {
        ctr=$("${LK_BUILDAH[@]}" from scratch)
        mnt=$("${LK_BUILDAH[@]}" mount "$ctr")
        # The tree is shared with the app tests' throwaway servers, which may be writing under its tmp/ right
        # now: take nothing of theirs (the directories themselves are kept, with their owners and modes).
        tar -C "$LK_MYSQL_TREE" --exclude='./tmp/*' --exclude='./var/lib/mysql/*' -cf - . | tar -C "$mnt" -xpf -
        install -m 0644 "$LK_HERE/images/mysql/my.cnf" "$mnt/etc/mysql/my.cnf" -D
        install -m 0755 "$LK_HERE/images/docker-entrypoint.sh" "$mnt/usr/local/bin/docker-entrypoint.sh"
        "${LK_BUILDAH[@]}" umount "$ctr" >/dev/null
        "${LK_BUILDAH[@]}" config --os linux --arch amd64 --env LANG=C.UTF-8 --user 999:999 \
            --entrypoint '["docker-entrypoint.sh"]' --cmd mysqld --port 3306/tcp --port 33060/tcp \
            --volume /var/lib/mysql "$ctr"
        "${LK_BUILDAH[@]}" commit --quiet --rm "$ctr" "$LK_IMAGE_MYSQL" >/dev/null
        save_archive "$LK_IMAGE_MYSQL"
        # Nothing builds FROM it: containerd's copy is the one that counts.
        "${LK_BUILDAH[@]}" rmi "$LK_IMAGE_MYSQL" >/dev/null
        echo "$stamp" >"$file.inputs"
    } >>"$LK_STEP_LOG" 2>&1
}

build_images() {
    local start=$SECONDS
    build_pause_image
    build_python_image
    build_mariadb_image
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
# was imported (the MySQL image only when it could be built); true when it imported any.
import_images() {
    local image file marker imported=1
    mkdir -p "$LK_STATE/imported"
    for image in "$LK_IMAGE_PAUSE" "$LK_IMAGE_PYTHON" "$LK_IMAGE_MARIADB" "$LK_IMAGE_MYSQL"; do
        file=$(archive_of "$image")
        [[ $image == "$LK_IMAGE_MYSQL" && ! -f $file ]] && continue
        marker="$LK_STATE/imported/$(basename "$file")"
        if ! ctr_has "$image" || [[ $file -nt $marker ]]; then
            import_archive "$image" "$file"
            touch "$marker"
            imported=0
        fi
    done
    if ! ctr_has "$LK_IMAGE_MARIADB_ALIAS" || ((imported == 0)); then
        ctr_k8s images tag --force "$LK_IMAGE_MARIADB" "$LK_IMAGE_MARIADB_ALIAS" >>"$LK_LOGS/image-import.log" 2>&1 \
            || die "tagging $LK_IMAGE_MARIADB as $LK_IMAGE_MARIADB_ALIAS failed, see $LK_LOGS/image-import.log"
    fi
    return $imported
}
