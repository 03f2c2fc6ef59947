# shellcheck shell=sh
# Sourced by backup.sh and restore.sh (set `prefix` first): their log lines and their MySQL client.
# MYSQL_PWD (root's password) is read by the client from the environment, never put on a command line.

say() { echo "${prefix:?set prefix before sourcing lib.sh}: $*"; }
fail() { echo "${prefix:?}: $*" >&2; exit 1; }
client() { mysql --protocol=TCP -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u root "$@"; }
sql() { client -N -B -e "$1" </dev/null; }
random_hex() { od -An -N4 -tx1 /dev/urandom | tr -d ' \n'; }
