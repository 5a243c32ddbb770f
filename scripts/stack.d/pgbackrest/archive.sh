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
# The command runs a script written into the state dir (pgbackrest_write_archive_script) instead
# of spelling out pgBackRest's options: the state dir may contain spaces or quotes, and the command
# passes through postgresql.conf's quoting (which takes backslashes as escapes), Patroni's YAML or
# pg_ctl's shell, and then PostgreSQL's sh. So the only path in it is the script's, quoted once for
# sh here; each caller quotes the whole command for where it writes it (pg_conf_quote, YAML's
# doubled single quotes, printf %q).
#
# The data directory is where PostgreSQL runs archive_command, and the script passes it to
# pgBackRest as --pg1-path: PostgreSQL gives %p relative to it and pgBackRest resolves it against
# pg1-path (refusing to push when they differ). A shard's stanza lists every member, pg1 being
# member 0, so without it a primary other than member 0 (after a failover, or a bootstrap won by
# another member) could never archive.
pgbackrest_archive_command() {
  [[ "$1" =~ ^[a-z0-9-]+$ ]] || die "pgbackrest_archive_command: stanza '$1' is not a plain name"
  [[ -n "${2:-}" ]] || die "pgbackrest_archive_command: no data directory for stanza $1"
  pgbackrest_write_archive_script
  printf '%s %s %%p' "$(sh_quote "$PGBACKREST_ARCHIVE_SCRIPT")" "$1"
}

# In the state dir's run/, which `reset <component>` keeps: a cluster still running after `reset
# pgbackrest` finds it and lets its segments go again.
PGBACKREST_ARCHIVE_SCRIPT="$CLINIC_STATE_DIR/run/pgbackrest-archive-push"

# $1 as a single-quoted postgresql.conf string: that parser takes a backslash as an escape and a
# doubled single quote as one quote.
pg_conf_quote() {
  local v="${1//\\/\\\\}"
  printf "'%s'" "${v//\'/\'\'}"
}

# `pgbackrest-archive-push STANZA WAL_PATH`, run by PostgreSQL in the cluster's data directory.
# Written by every start of a database component (it makes the command), readable by postgres.
pgbackrest_write_archive_script() {
  local tmp="$PGBACKREST_ARCHIVE_SCRIPT.tmp.$$" ready conf
  ready="$(sh_quote "$PGBACKREST_DIR/ready")"
  conf="$(sh_quote "$PGBACKREST_CONF")"
  mkdir -p "$(dirname "$PGBACKREST_ARCHIVE_SCRIPT")"
  # shellcheck disable=SC2016  # $1, $2 and $(pwd -P) are the written script's, expanded when it runs
  {
    printf '#!/bin/sh\n'
    printf '# Written by scripts/stack (scripts/stack.d/pgbackrest/archive.sh): archive_command of the\n'
    printf "# clusters of this state dir. \$1: the stanza, \$2: the WAL segment (%%p).\n"
    printf 'set -eu\n'
    printf 'test -f %s/"$1" || exit 0\n' "$ready"
    printf 'exec pgbackrest --config=%s --stanza="$1" --pg1-path="$(pwd -P)" archive-push "$2"\n' "$conf"
  } > "$tmp"
  chmod 755 "$tmp"
  mv -f "$tmp" "$PGBACKREST_ARCHIVE_SCRIPT"
}
