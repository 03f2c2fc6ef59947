#!/bin/bash
# Entrypoint of the local cluster's database images, behind the official mysql image's contract:
#   localhost/mysql (the real MySQL server, Debian unstable's mysql-server-core: mysqld --initialize-insecure)
#   localhost/mariadb-standin (Debian's MariaDB: mariadb-install-db)
#   MYSQL_ROOT_PASSWORD | MYSQL_ALLOW_EMPTY_PASSWORD | MYSQL_RANDOM_ROOT_PASSWORD (one is required),
#   MYSQL_ROOT_HOST (default %), MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD, each also as VAR_FILE;
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz run once on an empty /var/lib/mysql.
# First-boot initialisation runs a temporary server with --skip-networking, so TCP probes only pass
# once the real server starts. As root it drops to uid 999 (mysql); as any other uid it never chowns.
# It writes only to /var/lib/mysql, /var/run/mysqld and /tmp, so the root filesystem may be read-only.
set -euo pipefail
shopt -s nullglob

DATADIR=/var/lib/mysql
SOCKET=/var/run/mysqld/mysqld.sock
if command -v mariadbd >/dev/null 2>&1; then SERVER=mariadbd; else SERVER=mysqld; fi

note() { printf '%s [Entrypoint]: %s\n' "$(date -u '+%F %T')" "$*"; }
fail() { printf '%s [Entrypoint] [ERROR]: %s\n' "$(date -u '+%F %T')" "$*" >&2; exit 1; }

# file_env VAR: VAR or VAR_FILE (the file's content), not both.
file_env() {
    local var=$1 file_var="${1}_FILE" value=""
    if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then fail "both $var and $file_var are set"; fi
    if [[ -n ${!var:-} ]]; then value=${!var}
    elif [[ -n ${!file_var:-} ]]; then
        [[ -r ${!file_var} ]] || fail "$file_var names an unreadable file"
        value=$(<"${!file_var}")
    fi
    export "$var=$value"
    unset "$file_var"
}

sql_escape() { printf '%s' "${1//\'/\'\'}" | sed 's/\\/\\\\/g'; }

if [[ ${1:-} == -* ]]; then set -- "$SERVER" "$@"; fi
case ${1:-} in mysqld | mariadbd) ;; *) exec "$@" ;; esac

if [[ $(id -u) == 0 ]]; then
    mkdir -p "$DATADIR" /var/run/mysqld
    chown mysql:mysql "$DATADIR" /var/run/mysqld
    exec setpriv --reuid=999 --regid=999 --init-groups "$0" "$@"
fi

run_sql() { mysql --protocol=socket --socket="$SOCKET" -uroot; }

# create_system_tables SERVER...: the empty data directory's system tables, root@localhost without a password.
create_system_tables() {
    if [[ $SERVER == mariadbd ]]; then
        mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=normal \
            --skip-test-db --skip-name-resolve --rpm >/dev/null
    else
        "$@" --initialize-insecure --datadir="$DATADIR"
    fi
}

initialise() {
    for v in MYSQL_ROOT_PASSWORD MYSQL_DATABASE MYSQL_USER MYSQL_PASSWORD; do file_env "$v"; done
    if [[ -z $MYSQL_ROOT_PASSWORD && -z ${MYSQL_ALLOW_EMPTY_PASSWORD:-} && -z ${MYSQL_RANDOM_ROOT_PASSWORD:-} ]]; then
        fail "database is uninitialized and password option is not specified
    You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD"
    fi
    if [[ -n $MYSQL_USER && -z $MYSQL_PASSWORD ]]; then fail "MYSQL_USER is set but MYSQL_PASSWORD is empty"; fi
    if [[ $MYSQL_USER == root ]]; then fail "MYSQL_USER=root is not allowed; use MYSQL_ROOT_PASSWORD"; fi
    if [[ -n ${MYSQL_RANDOM_ROOT_PASSWORD:-} ]]; then
        MYSQL_ROOT_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | cut -c1-24)
        note "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
    fi

    note "Initializing database files ($SERVER)"
    create_system_tables "$@"
    note "Starting temporary server (no TCP)"
    "$@" --skip-networking --socket="$SOCKET" &
    local pid=$!
    for _ in $(seq 1 60); do
        mysqladmin --socket="$SOCKET" -uroot ping >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || fail "temporary server exited during initialisation"
        sleep 1
    done
    mysqladmin --socket="$SOCKET" -uroot ping >/dev/null 2>&1 || fail "temporary server did not start"

    local root_host=${MYSQL_ROOT_HOST:-%} rootpw
    rootpw=$(sql_escape "$MYSQL_ROOT_PASSWORD")
    {
        echo "SET @@SESSION.SQL_LOG_BIN=0;"
        # MariaDB's installer also makes passwordless accounts for the OS user; MySQL's makes none.
        [[ $SERVER == mariadbd ]] && echo "DELETE FROM mysql.global_priv WHERE user NOT IN ('mysql.sys', 'mariadb.sys', 'root') OR host NOT IN ('localhost');"
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$rootpw';"
        if [[ $root_host != localhost ]]; then
            echo "CREATE USER 'root'@'$root_host' IDENTIFIED BY '$rootpw';"
            echo "GRANT ALL ON *.* TO 'root'@'$root_host' WITH GRANT OPTION;"
        fi
        [[ -n $MYSQL_DATABASE ]] && echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"
        if [[ -n $MYSQL_USER ]]; then
            echo "CREATE USER '$(sql_escape "$MYSQL_USER")'@'%' IDENTIFIED BY '$(sql_escape "$MYSQL_PASSWORD")';"
            [[ -n $MYSQL_DATABASE ]] && echo "GRANT ALL ON \`$MYSQL_DATABASE\`.* TO '$(sql_escape "$MYSQL_USER")'@'%';"
        fi
        echo "FLUSH PRIVILEGES;"
    } | run_sql
    # The clients read the password from the environment, never from their command line.
    export MYSQL_PWD=$MYSQL_ROOT_PASSWORD
    local auth=(-uroot)

    local f
    # shellcheck disable=SC1090  # init scripts are sourced like the official image does
    for f in /docker-entrypoint-initdb.d/*; do
        case $f in
            *.sh) note "running $f"; if [[ -x $f ]]; then "$f"; else . "$f"; fi ;;
            *.sql) note "running $f"; mysql --socket="$SOCKET" "${auth[@]}" ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} <"$f" ;;
            *.sql.gz) note "running $f"; gunzip -c "$f" | mysql --socket="$SOCKET" "${auth[@]}" ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} ;;
            *) note "ignoring $f" ;;
        esac
    done

    mysqladmin --socket="$SOCKET" "${auth[@]}" shutdown
    wait "$pid" || true
    unset MYSQL_PWD
    note "Database initialised; starting the server"
}

if [[ ! -d $DATADIR/mysql ]]; then
    [[ -w $DATADIR ]] || fail "$DATADIR is not writable by uid $(id -u)"
    initialise "$@"
fi
unset MYSQL_ROOT_PASSWORD MYSQL_PASSWORD
exec "$@"
