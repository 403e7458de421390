#!/bin/sh
# Prepares both MinIO sites; safe to run on every start. No process but this one holds a root
# account: each gets its own key, allowed what it needs and nothing more.
#
# First site (MINIO_HOST, host:port, HTTPS):
#   S3_BUCKET          the media, versioned, replicated as it is written to the second site;
#   S3_BACKUP_BUCKET   the backups, with object lock (which brings versioning) and no default
#                      retention: the retention is set on each object as it is put (ObjectLockMode,
#                      RetainUntilDate), so that each kind keeps its own (seed §7.1: PostgreSQL 30
#                      days, MongoDB 14, Redis 7); pgBackRest's repository lives under pgbackrest/,
#                      unlocked, since its expire deletes.
#   user S3_ACCESS_KEY_ID   the application: media read, write, delete, multipart and tags;
#                      backups put, get and list, with retention and tags, and no delete at all;
#                      nothing under pgbackrest/.
#   user autoclip-backup    pgBackRest: pgbackrest/ in the backups bucket only, delete included.
# Second site (MINIO_REPLICA_HOST), the other region:
#   S3_BUCKET          versioned, the target of the replication;
#   user autoclip-replication   what the first site replicates with, on that bucket only;
#   user S3_ACCESS_KEY_ID   read-only on the media, for serving from this site when the first is lost.
set -eu

: "${MINIO_HOST:?MINIO_HOST is required (host:port)}"
: "${MINIO_ROOT_USER:?MINIO_ROOT_USER is required}"
: "${MINIO_ROOT_PASSWORD:?MINIO_ROOT_PASSWORD is required}"
: "${MINIO_REPLICA_HOST:?MINIO_REPLICA_HOST is required (host:port)}"
: "${MINIO_REPLICA_ROOT_USER:?MINIO_REPLICA_ROOT_USER is required}"
: "${MINIO_REPLICA_ROOT_PASSWORD:?MINIO_REPLICA_ROOT_PASSWORD is required}"
: "${S3_BUCKET:?S3_BUCKET is required}"
: "${S3_ACCESS_KEY_ID:?S3_ACCESS_KEY_ID is required}"
: "${S3_SECRET_ACCESS_KEY:?S3_SECRET_ACCESS_KEY is required}"
: "${S3_BACKUP_BUCKET:?S3_BACKUP_BUCKET is required}"
: "${MINIO_BACKUP_SECRET_KEY:?MINIO_BACKUP_SECRET_KEY is required}"
: "${MINIO_REPLICATION_SECRET_KEY:?MINIO_REPLICATION_SECRET_KEY is required}"

BACKUP_USER=autoclip-backup
REPLICATION_USER=autoclip-replication
POLICIES=$(mktemp -d)

mc alias set primary "https://$MINIO_HOST" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc alias set replica "https://$MINIO_REPLICA_HOST" "$MINIO_REPLICA_ROOT_USER" "$MINIO_REPLICA_ROOT_PASSWORD"

# Creates or replaces policy $3 on site $1 from file $2 and attaches it to user $4 (secret $5).
grant() {
  mc admin policy create "$1" "$3" "$2"
  mc admin user add "$1" "$4" "$5"
  # `policy attach` fails when the policy is already attached (minio/mc#4670) and the image has no
  # grep to check first: detach (which may fail harmlessly) and attach again.
  mc admin policy detach "$1" "$3" --user "$4" >/dev/null 2>&1 || true
  mc admin policy attach "$1" "$3" --user "$4"
}

# ── buckets ───────────────────────────────────────────────────────────────────────────────────────
for site in primary replica; do
  mc mb --ignore-existing "$site/$S3_BUCKET"
  mc version enable "$site/$S3_BUCKET"
done

mc mb --ignore-existing --with-lock "primary/$S3_BACKUP_BUCKET"
# --ignore-existing keeps a bucket made earlier without object lock, which can never be given it
# afterwards: stop rather than let backups land in a bucket where they can be deleted.
if ! mc retention info --default "primary/$S3_BACKUP_BUCKET" >/dev/null 2>&1; then
  echo "bucket $S3_BACKUP_BUCKET exists without object lock: create it again with mc mb --with-lock" >&2
  exit 1
fi
# pgBackRest's expire deletes, which in a versioned bucket leaves delete markers over the old
# versions: both go a day later, under pgbackrest/ only. The application's backups expire by kind
# once their lock has run out (seed §7.1: PostgreSQL 30 days, MongoDB 14, Redis 7; db/backups.ts
# locks each object that long), and their old versions a day after.
mc ilm import "primary/$S3_BACKUP_BUCKET" <<ILM
{
  "Rules": [
    { "ID": "expire-postgres", "Status": "Enabled", "Filter": { "Prefix": "postgres/" }, "Expiration": { "Days": 30 }, "NoncurrentVersionExpiration": { "NoncurrentDays": 1 } },
    { "ID": "expire-mongo", "Status": "Enabled", "Filter": { "Prefix": "mongo/" }, "Expiration": { "Days": 14 }, "NoncurrentVersionExpiration": { "NoncurrentDays": 1 } },
    { "ID": "expire-redis", "Status": "Enabled", "Filter": { "Prefix": "redis/" }, "Expiration": { "Days": 7 }, "NoncurrentVersionExpiration": { "NoncurrentDays": 1 } },
    {
      "ID": "pgbackrest-expired-versions",
      "Status": "Enabled",
      "Filter": { "Prefix": "pgbackrest/" },
      "NoncurrentVersionExpiration": { "NoncurrentDays": 1 },
      "Expiration": { "ExpiredObjectDeleteMarker": true }
    }
  ]
}
ILM

# ── users ─────────────────────────────────────────────────────────────────────────────────────────
cat > "$POLICIES/app.json" <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    { "Sid": "MediaBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::$S3_BUCKET"] },
    {
      "Sid": "MediaObjects",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:GetObjectTagging", "s3:PutObjectTagging"],
      "Resource": ["arn:aws:s3:::$S3_BUCKET/*"]
    },
    { "Sid": "BackupBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::$S3_BACKUP_BUCKET"] },
    {
      "Sid": "BackupObjects",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectTagging", "s3:AbortMultipartUpload"],
      "Resource": ["arn:aws:s3:::$S3_BACKUP_BUCKET/*"]
    },
    { "Sid": "NotPgBackRest", "Effect": "Deny", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::$S3_BACKUP_BUCKET/pgbackrest/*"] }
  ]
}
POLICY
grant primary "$POLICIES/app.json" autoclip-app "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"

cat > "$POLICIES/backup.json" <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "RepositoryListing",
      "Effect": "Allow",
      "Action": ["s3:ListBucket"],
      "Resource": ["arn:aws:s3:::$S3_BACKUP_BUCKET"],
      "Condition": { "StringLike": { "s3:prefix": ["pgbackrest/*"] } }
    },
    {
      "Sid": "Repository",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      "Resource": ["arn:aws:s3:::$S3_BACKUP_BUCKET/pgbackrest/*"]
    }
  ]
}
POLICY
grant primary "$POLICIES/backup.json" autoclip-backup "$BACKUP_USER" "$MINIO_BACKUP_SECRET_KEY"

cat > "$POLICIES/replication.json" <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    { "Sid": "ReplicaBucket", "Effect": "Allow", "Action": ["s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration", "s3:ListBucket"], "Resource": ["arn:aws:s3:::$S3_BUCKET"] },
    {
      "Sid": "ReplicaObjects",
      "Effect": "Allow",
      "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectVersionTagging", "s3:PutObject", "s3:DeleteObject"],
      "Resource": ["arn:aws:s3:::$S3_BUCKET/*"]
    }
  ]
}
POLICY
grant replica "$POLICIES/replication.json" autoclip-replication "$REPLICATION_USER" "$MINIO_REPLICATION_SECRET_KEY"

cat > "$POLICIES/app-replica.json" <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    { "Sid": "MediaBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::$S3_BUCKET"] },
    { "Sid": "MediaObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectTagging"], "Resource": ["arn:aws:s3:::$S3_BUCKET/*"] }
  ]
}
POLICY
grant replica "$POLICIES/app-replica.json" autoclip-app-replica "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"

# ── replication of the media to the second site ──────────────────────────────────────────────────
# New objects, the ones already there and delete markers (a deleted video stays a noncurrent
# version on both sites); the rule is made once and kept on later runs.
if mc replicate ls "primary/$S3_BUCKET" >/dev/null 2>&1; then
  echo "replication of $S3_BUCKET to $MINIO_REPLICA_HOST is configured"
else
  mc replicate add "primary/$S3_BUCKET" \
    --remote-bucket "https://$REPLICATION_USER:$MINIO_REPLICATION_SECRET_KEY@$MINIO_REPLICA_HOST/$S3_BUCKET" \
    --replicate "delete-marker,existing-objects" --priority 1
fi

rm -rf "$POLICIES"
echo "buckets $S3_BUCKET (replicated) and $S3_BACKUP_BUCKET (object lock), users $S3_ACCESS_KEY_ID, $BACKUP_USER and $REPLICATION_USER are ready"
