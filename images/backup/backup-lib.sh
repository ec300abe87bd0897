#!/bin/sh
# What the backup jobs share (sourced by backup-run, backup-check, restore-drill, restore-stack and
# restore-mailbox): the configuration, one log line per step, and restic run against one named
# repository with that repository's own environment.
#
# /etc/mail-platform/backup.conf is rendered by the deployment: plain shell variable assignments,
# no commands. Every variable:
#
#   BACKUP_REPOSITORIES  Names of the restic repositories, space-separated, e.g. "local s3". A name
#                        is lower-case letters, digits and underscores (it is the `repository`
#                        label of the metrics). The first one is the one restore-drill and
#                        restore-mailbox use unless told otherwise. Required.
#   REPO_<NAME>          For each name, upper-cased (REPO_LOCAL, REPO_S3): the restic repository
#                        string, e.g. /srv/backup/repository or s3:https://host:9000/bucket/path.
#                        Required.
#   REPO_<NAME>_ENV      Optional: a file of KEY=VALUE lines (no quotes, no shell; `#` comments and
#                        blank lines ignored) exported for that repository only, e.g.
#                        AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for S3.
#   RESTIC_PASSWORD_FILE The file holding the repositories' password (one for all). Required.
#   BACKUP_HOST          The host name the snapshots are recorded under (restic --host), stable
#                        across containers. Default: mail-platform.
#   BACKUP_DATABASES     MariaDB databases dumped before each backup, space-separated. Default: none.
#   MYSQL_DEFAULTS_FILE  A my.cnf with a [client] section (host, port, user, password) for
#                        mariadb-dump. Required when BACKUP_DATABASES is not empty.
#   BACKUP_PATHS         Directories backed up as they are, space-separated (no spaces inside a
#                        path): the data mounted read-only under /srv/backup/data. Required.
#   MAILBOXES_PATH       Which of BACKUP_PATHS holds the mailboxes (Dovecot's mail root:
#                        <domain>/<local part>/Maildir), for restore-mailbox. Default:
#                        /srv/backup/data/mailboxes.
#   BACKUP_STAGING       Where the dumps are written before the backup (backed up with the
#                        paths, as <staging>/databases/<database>.sql). Default:
#                        /var/lib/mail-platform/backup-staging.
#   KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY
#                        Retention (restic forget --keep-*). Defaults: 7, 4, 12.
#   RESTIC_OPEN_TIMEOUT  Seconds a job waits for a repository to answer before it fails that
#                        repository (restic alone retries a failing server for 15 minutes, and a
#                        blip shorter than this is waited out). Default: 120.
#   CHECK_READ_DATA_SUBSET
#                        How much of the data backup-check reads back (restic check
#                        --read-data-subset), e.g. 5% or 1/10. Default: 5%.
#   DRILL_DIR            Where restore-drill restores to (a scratch directory made and removed
#                        inside it). Default: the directory above BACKUP_STAGING, /restore-drill.
#   DRILL_CANARY         Optional: a file, as a path relative to one of BACKUP_PATHS (e.g.
#                        example.org/postmaster/Maildir/cur/canary), that restore-drill must find.
#   DRILL_DATABASE_PREFIX
#                        Optional: restore-drill loads every dump into a scratch database named
#                        with this prefix (e.g. restore_drill_postfixadmin) on the live server,
#                        checks it, and drops it. The account of MYSQL_DEFAULTS_FILE must be
#                        allowed to create and write those, and nothing else.
#   DRILL_EXPECT_ROWS    Optional, with DRILL_DATABASE_PREFIX: tables (database.table,
#                        space-separated) that must have rows after the load, e.g.
#                        "postfixadmin.domain postfixadmin.mailbox".
#   RESTORE_DIR          Where restore-mailbox restores to: a host path the Dovecot container sees
#                        (read-only) at the same path. Required for restore-mailbox.
#
# Jobs log one line per step on stdout:
#   <time> mail-platform backup event=<step> [repository=<name>] result=ok|failed [...]
# No password or key is ever written to the output: restic reads them from files and the
# environment, and its error messages name the repository, never the secret.

BACKUP_CONF=${BACKUP_CONF:-/etc/mail-platform/backup.conf}

blog() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) mail-platform backup $*"; }

# Reads and checks the configuration; exits 78 (EX_CONFIG) when it is unusable.
load_config() {
  if [ ! -r "$BACKUP_CONF" ]; then
    blog "event=config result=failed reason=\"cannot read $BACKUP_CONF\""
    exit 78
  fi
  # shellcheck source=/dev/null
  . "$BACKUP_CONF"
  BACKUP_REPOSITORIES=${BACKUP_REPOSITORIES:-}
  BACKUP_HOST=${BACKUP_HOST:-mail-platform}
  BACKUP_DATABASES=${BACKUP_DATABASES:-}
  MYSQL_DEFAULTS_FILE=${MYSQL_DEFAULTS_FILE:-}
  BACKUP_PATHS=${BACKUP_PATHS:-}
  MAILBOXES_PATH=${MAILBOXES_PATH:-/srv/backup/data/mailboxes}
  BACKUP_STAGING=${BACKUP_STAGING:-/var/lib/mail-platform/backup-staging}
  KEEP_DAILY=${KEEP_DAILY:-7}
  KEEP_WEEKLY=${KEEP_WEEKLY:-4}
  KEEP_MONTHLY=${KEEP_MONTHLY:-12}
  RESTIC_OPEN_TIMEOUT=${RESTIC_OPEN_TIMEOUT:-120}
  CHECK_READ_DATA_SUBSET=${CHECK_READ_DATA_SUBSET:-5%}
  DRILL_DIR=${DRILL_DIR:-$(dirname "$BACKUP_STAGING")/restore-drill}
  DRILL_CANARY=${DRILL_CANARY:-}
  DRILL_DATABASE_PREFIX=${DRILL_DATABASE_PREFIX:-}
  DRILL_EXPECT_ROWS=${DRILL_EXPECT_ROWS:-}
  RESTORE_DIR=${RESTORE_DIR:-}
  problems=
  [ -n "$BACKUP_REPOSITORIES" ] || problems="$problems BACKUP_REPOSITORIES is empty;"
  for name in $BACKUP_REPOSITORIES; do
    case $name in
      [a-z]* ) case $name in *[!a-z0-9_]*) problems="$problems repository name '$name' is not [a-z][a-z0-9_]*;" ;; esac ;;
      *) problems="$problems repository name '$name' is not [a-z][a-z0-9_]*;" ;;
    esac
  done
  [ -n "${RESTIC_PASSWORD_FILE:-}" ] || problems="$problems RESTIC_PASSWORD_FILE is not set;"
  [ -n "$BACKUP_PATHS" ] || problems="$problems BACKUP_PATHS is empty;"
  case $RESTIC_OPEN_TIMEOUT in
    '' | *[!0-9]* | 0) problems="$problems RESTIC_OPEN_TIMEOUT '$RESTIC_OPEN_TIMEOUT' is not a number of seconds;" ;;
  esac
  if [ -n "$BACKUP_DATABASES" ] && [ -z "$MYSQL_DEFAULTS_FILE" ]; then
    problems="$problems MYSQL_DEFAULTS_FILE is not set;"
  fi
  if [ -n "$problems" ]; then
    blog "event=config result=failed reason=\"$BACKUP_CONF:$problems\""
    exit 78
  fi
  export RESTIC_PASSWORD_FILE
  # Without a home directory restic would keep no cache; a cache saves reading the index again.
  export RESTIC_CACHE_DIR="${RESTIC_CACHE_DIR:-/var/cache/restic}"
}

# Sets RESTIC_REPOSITORY and exports the repository's own environment in the CURRENT shell:
# call it in a subshell, so one repository's keys never reach another's commands.
use_repository() {
  upper=$(echo "$1" | tr '[:lower:]' '[:upper:]')
  eval "RESTIC_REPOSITORY=\${REPO_$upper:-}"
  eval "envfile=\${REPO_${upper}_ENV:-}"
  if [ -z "$RESTIC_REPOSITORY" ]; then
    blog "event=config repository=$1 result=failed reason=\"REPO_$upper is not set\""
    return 1
  fi
  export RESTIC_REPOSITORY
  if [ -n "$envfile" ]; then
    if [ ! -r "$envfile" ]; then
      blog "event=config repository=$1 result=failed reason=\"cannot read REPO_${upper}_ENV $envfile\""
      return 1
    fi
    while IFS= read -r line || [ -n "$line" ]; do
      case $line in '' | '#'*) continue ;; esac
      key=${line%%=*}
      case $key in
        '' | [0-9]* | *[!A-Za-z0-9_]*)
          blog "event=config repository=$1 result=failed reason=\"$envfile: a line is not KEY=VALUE\""
          return 1
          ;;
      esac
      # shellcheck disable=SC2163 # exports the variable the line names, value as written
      export "$line"
    done <"$envfile"
  fi
}

# The last line restic wrote on stderr ($1), as a log field value: no double quotes.
reason_of() {
  tail -n 1 "$1" 2>/dev/null | tr '"' "'" | tr -d '\r'
}

# Opens the repository use_repository chose (restic cat config), its errors to the file $1.
# Returns restic's exit code (10: there is no repository yet), or 124 (137 when it had to be
# killed) when it did not answer within RESTIC_OPEN_TIMEOUT: restic itself retries a failing
# server for 15 minutes, which would hold every job that long for the same failure. An S3 bucket
# that does not exist yet is no repository yet either (10, and restic init creates the bucket),
# though restic retries that as it retries an unreachable server.
open_repository() {
  timeout -k 10 "$RESTIC_OPEN_TIMEOUT" restic cat config >/dev/null 2>"$1" &
  opener=$!
  while kill -0 "$opener" 2>/dev/null; do
    if grep -qE 'The specified bucket does not exist|NoSuchBucket' "$1"; then
      kill "$opener" 2>/dev/null
      wait "$opener"
      return 10
    fi
    sleep 0.2
  done
  wait "$opener"
}

# Why open_repository failed, as a log field value: $1 its error file, $2 its exit code. A
# timeout names the last error restic was retrying (the server's refusal, a DNS failure...).
open_reason() {
  case $2 in
    124 | 137)
      last=$(grep 'retrying after' "$1" | tail -n 1 | tr '"' "'" | tr -d '\r')
      echo "no answer within $RESTIC_OPEN_TIMEOUT s${last:+: $last}"
      ;;
    *) reason_of "$1" ;;
  esac
}

# For jobs that only read a repository: opens it ($1 its name, $2 an error file) or logs why not
# (event=open) and fails.
require_repository() {
  open_repository "$2"
  code=$?
  [ "$code" -eq 0 ] && return 0
  blog "event=open repository=$1 result=failed exit=$code reason=\"$(open_reason "$2" "$code")\""
  return 1
}

# Prints the repository's snapshots of this host (restic snapshots --json) as two fields: the
# count and the time of the newest in seconds since the epoch (0 when there is none). No jq: the
# JSON is restic's own, one object per snapshot with one "short_id" and one "time" each.
snapshot_stats() {
  restic snapshots --json --host "$BACKUP_HOST" >"$1.json" 2>"$1.err" || return 1
  count=$(grep -o '"short_id"' "$1.json" | wc -l)
  newest=$(grep -o '"time":"[^"]*"' "$1.json" | sed 's/^"time":"//; s/"$//' | sort | tail -n 1)
  stamp=0
  if [ -n "$newest" ]; then stamp=$(date -u -d "$newest" +%s); fi
  echo "$count $stamp"
}
