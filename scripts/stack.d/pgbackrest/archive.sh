# shellcheck shell=bash
# WAL archiving settings shared by the database components (postgres.sh, patroni.sh) and the
# backup component (pgbackrest.sh), kept apart so the database components need not load the
# backup component (which loads them).
#
# Settings: CLINIC_BACKUP (on, the default; `off` leaves archive_mode off), CLINIC_ARCHIVE_TIMEOUT
# (60 s: a WAL segment is closed and archived at least this often, which bounds the RPO of a
# restore from the repository when writes are rare).

CLINIC_BACKUP="${CLINIC_BACKUP:-on}"
CLINIC_ARCHIVE_TIMEOUT="${CLINIC_ARCHIVE_TIMEOUT:-60}"
[[ "$CLINIC_BACKUP" == on || "$CLINIC_BACKUP" == off ]] \
  || { printf 'stack: error: CLINIC_BACKUP must be on or off, got %s\n' "$CLINIC_BACKUP" >&2; exit 1; }
[[ "$CLINIC_ARCHIVE_TIMEOUT" =~ ^[1-9][0-9]*$ ]] \
  || { printf 'stack: error: CLINIC_ARCHIVE_TIMEOUT must be a number of seconds, got %s\n' "$CLINIC_ARCHIVE_TIMEOUT" >&2; exit 1; }
PGBACKREST_DIR="$CLINIC_STATE_DIR/pgbackrest"
PGBACKREST_CONF="$PGBACKREST_DIR/pgbackrest.conf"

# The stanza (pgBackRest's name for one cluster's backups) of booking shard $1, and of the
# services' PostgreSQL.
pgbackrest_shard_stanza() { printf 'booking-%s' "$1"; }
PGBACKREST_SERVICES_STANZA=services

# Exists once the stanza's repository is created (scripts/stack up pgbackrest).
pgbackrest_ready_marker() { printf '%s/ready/%s' "$PGBACKREST_DIR" "$1"; }

# archive_command of a stanza ($1) for the cluster whose data directory is $2. Until the stanza
# exists (pgbackrest not started in this state dir, as in the test and chaos stacks) a segment is
# let go: without a backup to replay it onto it would be useless, and failing instead would keep
# every segment in pg_wal for good. From the stanza's creation on, every segment is pushed, and
# the first backup checks that it was.
#
# The data directory is named on the command line because PostgreSQL passes %p relative to it and
# pgBackRest resolves it against pg1-path (refusing to push when they differ): a shard's stanza
# lists every member, pg1 being member 0, so without it a primary other than member 0 (after a
# failover, or a bootstrap won by another member) could never archive.
pgbackrest_archive_command() {
  printf 'test ! -f %s || pgbackrest --config=%s --stanza=%s --pg1-path=%s archive-push %%p' \
    "$(pgbackrest_ready_marker "$1")" "$PGBACKREST_CONF" "$1" "$2"
}
