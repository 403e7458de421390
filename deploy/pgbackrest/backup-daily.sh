#!/bin/sh
# The backup service beside a PostgreSQL service (same image, its data volume and socket shared):
# once the server answers, creates the stanza (a no-op when it exists) and checks that WAL reaches
# the repository, takes a full backup at once when the repository has none (WAL alone restores
# nothing), then a full backup every day at FULL_BACKUP_AT (HH:MM, UTC). A failed backup is tried
# again every 15 minutes until one succeeds; each success expires what is past the retention.
set -eu

: "${PGBACKREST_STANZA:?PGBACKREST_STANZA is required}"
: "${FULL_BACKUP_AT:?FULL_BACKUP_AT is required (HH:MM, UTC)}"

until pg_isready -q -h /var/run/postgresql; do
  sleep 2
done
pgbackrest stanza-create
pgbackrest check

full_backup() {
  until pgbackrest backup --type=full; do
    echo "full backup of $PGBACKREST_STANZA failed; trying again in 15 minutes" >&2
    sleep 900
  done
}

case "$(pgbackrest info --output=json)" in
  *'"backup":[]'*) full_backup ;;
esac

while :; do
  now=$(date -u +%s)
  next=$(date -u -d "today $FULL_BACKUP_AT" +%s)
  if [ "$next" -le "$now" ]; then next=$(date -u -d "tomorrow $FULL_BACKUP_AT" +%s); fi
  sleep $((next - now))
  full_backup
done
