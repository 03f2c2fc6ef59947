#!/bin/sh
# Takes one logical backup of MYSQL_DATABASE into BACKUP_ROOT/<name>/ (runs in the MySQL server's own image).
#
# Environment:
#   MYSQL_HOST, MYSQL_PORT   the server (its Service)
#   MYSQL_PWD                root's password (from the credentials Secret; read by the clients, never printed)
#   MYSQL_DATABASE           the database to back up
#   BACKUP_ROOT              the backup volume's mount point
#   BACKUP_NAME              name of the backup; empty: <database>-<UTC yyyymmdd-hhmmss>[-<suffix>]
#   BACKUP_SUFFIX            suffix of generated names (cron for scheduled backups, pre-restore for safety ones)
#   BACKUP_KEEP              0 keeps everything; N > 0 keeps the newest N backups with this suffix
#
# A backup is a directory: tables.sql.gz (mysqldump --single-transaction of the tables and their rows, the
# schema_migrations table included), objects.sql.gz (routines and triggers), tables.tsv (table, rows,
# CHECKSUM TABLE), meta.json (format, name, database, time, server version, schema version, tables) and
# SHA256SUMS over the four. Rows and checksums are those of the dump itself: it is loaded into a scratch
# database on the same server, which also proves that it restores. It is written under .partial-<name> and
# renamed when complete, so a backup directory without that prefix is always whole.
set -eu
umask 077

prefix=backup
# shellcheck source=roles/backup/files/lib.sh
. "$(dirname "$0")/lib.sh"

started=$(date -u +%s)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
name=${BACKUP_NAME:-$MYSQL_DATABASE-$(date -u -d "@$started" +%Y%m%d-%H%M%S)${BACKUP_SUFFIX:+-$BACKUP_SUFFIX}}
final=$BACKUP_ROOT/$name
work=$BACKUP_ROOT/.partial-$name
scratch=backup_verify_$(random_hex)

cleanup() {
    rm -rf "$work"
    sql "DROP DATABASE IF EXISTS \`$scratch\`" >/dev/null 2>&1 || true
}
trap cleanup EXIT

dumper=$(command -v mysqldump || command -v mariadb-dump || true)
[ -n "$dumper" ] || fail "this image has neither mysqldump nor mariadb-dump: set backup_image to an image of the same server that has them."
[ ! -e "$final" ] || fail "a backup named $name already exists on the backup volume: choose another name."
sql "SELECT 1" >/dev/null || fail "cannot log in to MySQL at $MYSQL_HOST:$MYSQL_PORT as root (error above): check that MySQL is Ready and that the credentials Secret still matches it."
[ "$(sql "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$MYSQL_DATABASE'")" = 1 ] \
    || fail "database $MYSQL_DATABASE does not exist on $MYSQL_HOST: there is nothing to back up."
[ "$(sql "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '$MYSQL_DATABASE'")" = 0 ] \
    || fail "database $MYSQL_DATABASE has views, which these backups do not handle: drop them or back up by hand."
server_version=$(sql "SELECT VERSION()")

# GTID statements in a dump would fail on load into a server with its own history (MySQL only).
gtid=""
if "$dumper" --help 2>/dev/null | grep -q -- '--set-gtid-purged'; then gtid=--set-gtid-purged=OFF; fi
dump() {
    # shellcheck disable=SC2086 # $gtid is empty or one option
    "$dumper" --protocol=TCP -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u root --default-character-set=utf8mb4 \
        --no-tablespaces --hex-blob $gtid "$@" "$MYSQL_DATABASE"
}

mkdir "$work"
# POSIX sh has no pipefail: a failed dump leaves a marker file behind.
{ dump --single-transaction --quick --skip-triggers || touch "$work/.failed"; } | gzip -6 >"$work/tables.sql.gz"
[ ! -e "$work/.failed" ] || fail "mysqldump of the tables failed (error above)."
{ dump --no-data --no-create-info --skip-opt --routines --triggers || touch "$work/.failed"; } | gzip -6 >"$work/objects.sql.gz"
[ ! -e "$work/.failed" ] || fail "mysqldump of the routines and triggers failed (error above)."

# Rows and checksums of what the dump loads to, read from a scratch copy on the same server.
sql "CREATE DATABASE \`$scratch\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
gzip -dc "$work/tables.sql.gz" | client "$scratch" || fail "the dump does not load into a scratch database (error above)."
: >"$work/tables.tsv"
for table in $(sql "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$scratch' AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"); do
    rows=$(sql "SELECT COUNT(*) FROM \`$scratch\`.\`$table\`")
    checksum=$(sql "CHECKSUM TABLE \`$scratch\`.\`$table\` EXTENDED" | cut -f2)
    printf '%s\t%s\t%s\n' "$table" "$rows" "$checksum" >>"$work/tables.tsv"
done
schema_version=0
if awk -F '\t' '$1 == "schema_migrations" { found = 1 } END { exit !found }' "$work/tables.tsv"; then
    schema_version=$(sql "SELECT COALESCE(MAX(version), 0) FROM \`$scratch\`.schema_migrations")
fi
sql "DROP DATABASE \`$scratch\`"

tables_json=$(awk -F '\t' '{ printf "%s\"%s\": {\"rows\": %s, \"checksum\": %s}", (NR > 1 ? ", " : ""), $1, $2, $3 }' "$work/tables.tsv")
total_rows=$(awk -F '\t' '{ sum += $2 } END { print sum + 0 }' "$work/tables.tsv")
table_count=$(wc -l <"$work/tables.tsv" | tr -d ' ')
cat >"$work/meta.json" <<EOF
{"format": "flask-users-k8s/mysql-logical/1", "name": "$name", "database": "$MYSQL_DATABASE", "created": "$created", "server_version": "$server_version", "schema_version": $schema_version, "tables": {$tables_json}}
EOF
(cd "$work" && sha256sum tables.sql.gz objects.sql.gz tables.tsv meta.json >SHA256SUMS)
rm -f "$work/.failed"
mv "$work" "$final"

if [ "${BACKUP_KEEP:-0}" -gt 0 ] && [ -n "${BACKUP_SUFFIX:-}" ]; then
    # Names sort by time; keep the newest BACKUP_KEEP of this database with this suffix.
    find "$BACKUP_ROOT" -mindepth 1 -maxdepth 1 -type d -name "$MYSQL_DATABASE-*-$BACKUP_SUFFIX" -printf '%f\n' \
        | grep -E "^$MYSQL_DATABASE-[0-9]{8}-[0-9]{6}-$BACKUP_SUFFIX\$" | sort -r | tail -n "+$((BACKUP_KEEP + 1))" \
        | while read -r old; do
            rm -rf "${BACKUP_ROOT:?}/$old"
            say "removed $old (retention: the newest $BACKUP_KEEP are kept)"
        done
fi

size=$(du -sk "$final" | cut -f1)
say "meta $(cat "$final/meta.json")"
say "took $name: $table_count tables, $total_rows rows, ${size} KiB, schema version $schema_version, server $server_version, in $(($(date -u +%s) - started)) s"
