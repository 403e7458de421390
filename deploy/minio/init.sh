#!/bin/sh
# Creates the media bucket and the application's own access key, limited to that bucket, so the
# api and worker never hold the MinIO root credentials. Safe to run on every start.
set -eu

: "${MINIO_ROOT_USER:?MINIO_ROOT_USER is required}"
: "${MINIO_ROOT_PASSWORD:?MINIO_ROOT_PASSWORD is required}"
: "${S3_BUCKET:?S3_BUCKET is required}"
: "${S3_ACCESS_KEY_ID:?S3_ACCESS_KEY_ID is required}"
: "${S3_SECRET_ACCESS_KEY:?S3_SECRET_ACCESS_KEY is required}"

mc alias set autoclip http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "autoclip/$S3_BUCKET"

cat > /tmp/autoclip-app-policy.json <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], "Resource": ["arn:aws:s3:::$S3_BUCKET"] },
    { "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], "Resource": ["arn:aws:s3:::$S3_BUCKET/*"] }
  ]
}
POLICY
mc admin policy create autoclip autoclip-app /tmp/autoclip-app-policy.json
mc admin user add autoclip "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"
# `policy attach` fails when the policy is already attached (minio/mc#4670) and the image has no
# grep to check first: detach (which may fail harmlessly) and attach again.
mc admin policy detach autoclip autoclip-app --user "$S3_ACCESS_KEY_ID" >/dev/null 2>&1 || true
mc admin policy attach autoclip autoclip-app --user "$S3_ACCESS_KEY_ID"
echo "bucket $S3_BUCKET and user $S3_ACCESS_KEY_ID are ready"
