#!/bin/sh
# Restores BACKUP_ROOT/BACKUP_NAME (made by backup.sh) into MYSQL_DATABASE (runs in the MySQL server's own image).
#
# Environment: MYSQL_HOST, MYSQL_PORT, MYSQL_PWD (root), MYSQL_DATABASE, BACKUP_ROOT, BACKUP_NAME, and
# SAFETY_BACKUP_NAME (optional): the name of a backup of the current data to take first.
#
# 1. Checks the files against SHA256SUMS. With SAFETY_BACKUP_NAME, takes that backup of the current data
#    (backup.sh, its lines prefixed "backup:"), in the same pod: nothing is restored unless it succeeded.
# 2. Loads the dump into a staging database and checks every table's rows and CHECKSUM TABLE against
#    tables.tsv. Until here the live database is not touched: any failure leaves it as it was.
# 3. Swaps the tables in one RENAME TABLE (atomic): the live tables move to a holding database, the staged
#    ones into MYSQL_DATABASE. The live database's triggers and routines are dropped first (RENAME cannot
#    move a table with triggers across databases) and the backup's are loaded after the swap.
# 4. Checks the live tables once more, then drops the holding database. If a step after the swap fails,
#    the holding database is kept and named, so the previous tables can be moved back by hand.
# The database's grants are per database, so the app user keeps its rights on the restored tables.
set -eu
umask 077

prefix=restore
# shellcheck source=roles/backup/files/lib.sh
. "$(dirname "$0")/lib.sh"
tab=$(printf '\t')

started=$(date -u +%s)
dir=$BACKUP_ROOT/$BACKUP_NAME
suffix=$(random_hex)
staging=restore_staging_$suffix
holding=restore_previous_$suffix
swapped=false

cleanup() {
    sql "DROP DATABASE IF EXISTS \`$staging\`" >/dev/null 2>&1 || true
    if [ "$swapped" = false ]; then
        sql "DROP DATABASE IF EXISTS \`$holding\`" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

# Compares every table of database $1 with tables.tsv; on a difference sets $problem and returns 1.
check_tables() {
    expected=$(wc -l <"$dir/tables.tsv" | tr -d ' ')
    found=$(sql "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$1' AND TABLE_TYPE = 'BASE TABLE'")
    if [ "$found" != "$expected" ]; then
        problem="the restored copy holds $found tables but the backup recorded $expected"
        return 1
    fi
    while IFS="$tab" read -r table rows checksum; do
        got_rows=$(sql "SELECT COUNT(*) FROM \`$1\`.\`$table\`")
        got_checksum=$(sql "CHECKSUM TABLE \`$1\`.\`$table\` EXTENDED" | cut -f2)
        if [ "$got_rows" != "$rows" ] || [ "$got_checksum" != "$checksum" ]; then
            problem="table $table loaded with $got_rows rows (checksum $got_checksum) where the backup recorded $rows rows (checksum $checksum)"
            return 1
        fi
    done <"$dir/tables.tsv"
}

[ -d "$dir" ] || fail "there is no backup named $BACKUP_NAME on the backup volume; the current data is untouched."
(cd "$dir" && sha256sum --status -c SHA256SUMS) \
    || fail "backup $BACKUP_NAME does not match its SHA256SUMS (damaged); the current data is untouched: use another backup."
sql "SELECT 1" >/dev/null || fail "cannot log in to MySQL at $MYSQL_HOST:$MYSQL_PORT as root (error above); the current data is untouched."
if [ -n "${SAFETY_BACKUP_NAME:-}" ]; then
    BACKUP_NAME=$SAFETY_BACKUP_NAME BACKUP_SUFFIX="" BACKUP_KEEP=0 sh "$(dirname "$0")/backup.sh" \
        || fail "the safety backup $SAFETY_BACKUP_NAME of the current data failed (error above), so nothing was restored; the current data is untouched."
fi
problem=""

sql "CREATE DATABASE \`$staging\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
gzip -dc "$dir/tables.sql.gz" | client "$staging" \
    || fail "the backup's dump did not load into a staging database (error above); the current data is untouched."
check_tables "$staging" || fail "$problem; the current data is untouched."
say "staged and checked $(wc -l <"$dir/tables.tsv" | tr -d ' ') tables of $BACKUP_NAME"

sql "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
sql "CREATE DATABASE \`$holding\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
sql "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '$MYSQL_DATABASE'" \
    | while read -r trigger; do sql "DROP TRIGGER \`$MYSQL_DATABASE\`.\`$trigger\`"; done
sql "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '$MYSQL_DATABASE'" \
    | while IFS="$tab" read -r kind routine; do sql "DROP $kind \`$MYSQL_DATABASE\`.\`$routine\`"; done
renames=$(sql "SELECT CONCAT('\`$MYSQL_DATABASE\`.\`', TABLE_NAME, '\` TO \`$holding\`.\`', TABLE_NAME, '\`')
               FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$MYSQL_DATABASE' AND TABLE_TYPE = 'BASE TABLE'
               UNION ALL
               SELECT CONCAT('\`$staging\`.\`', TABLE_NAME, '\` TO \`$MYSQL_DATABASE\`.\`', TABLE_NAME, '\`')
               FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$staging' AND TABLE_TYPE = 'BASE TABLE'" \
          | paste -sd ',' -)
# One statement: the swap is atomic, readers see either the old tables or the restored ones.
[ -z "$renames" ] || sql "RENAME TABLE $renames"
swapped=true
gzip -dc "$dir/objects.sql.gz" | client "$MYSQL_DATABASE" \
    || fail "the backup's routines and triggers did not load (error above); the previous tables are in database $holding."
check_tables "$MYSQL_DATABASE" || fail "$problem after the swap; the previous tables are in database $holding."
sql "DROP DATABASE \`$holding\`"

rows=$(awk -F '\t' '{ sum += $2 } END { print sum + 0 }' "$dir/tables.tsv")
say "restored $BACKUP_NAME into $MYSQL_DATABASE: $(wc -l <"$dir/tables.tsv" | tr -d ' ') tables, $rows rows, rows and CHECKSUM TABLE verified, in $(($(date -u +%s) - started)) s"
