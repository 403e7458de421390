#!/bin/sh
# The compose network's own certificate authority and a server certificate for each MinIO site, so
# that S3 traffic is TLS inside the network too (seed §8.1) and pgBackRest, which speaks S3 over
# HTTPS only, can reach MinIO. Runs at every `up`: the authority is made once (its key never leaves
# $TLS_DIR/ca); a site's certificate is issued when missing, not signed by the authority, or
# expiring within 30 days (MinIO picks up a renewed one by itself).
#
#   $TLS_DIR/ca/ca.key, ca.crt            the authority (mounted by this step only)
#   $TLS_DIR/public/ca.crt                what clients trust (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE,
#                                         pgBackRest's repo1-storage-ca-file)
#   $TLS_DIR/<site>/public.crt, private.key, CAs/ca.crt
#                                         a MinIO --certs-dir; CAs/ lets the site trust the other
#                                         one when it replicates to it
set -eu

: "${TLS_DIR:?TLS_DIR is required}"
: "${TLS_SITES:?TLS_SITES is required (space-separated host names)}"

CA_KEY="$TLS_DIR/ca/ca.key"
CA_CRT="$TLS_DIR/ca/ca.crt"
umask 077
mkdir -p "$TLS_DIR/ca"

if [ ! -s "$CA_KEY" ] || [ ! -s "$CA_CRT" ]; then
  openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days 3650 -subj "/CN=AutoClip compose CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$CA_KEY" -out "$CA_CRT"
  echo "certificate authority created"
fi
# Readable by every client, whatever user it runs as (node, postgres).
mkdir -p "$TLS_DIR/public"
cp "$CA_CRT" "$TLS_DIR/public/ca.crt"
chmod 0755 "$TLS_DIR/public"
chmod 0644 "$TLS_DIR/public/ca.crt"

for site in $TLS_SITES; do
  dir="$TLS_DIR/$site"
  mkdir -p "$dir/CAs"
  if [ -s "$dir/public.crt" ] && [ -s "$dir/private.key" ] \
    && openssl verify -CAfile "$CA_CRT" "$dir/public.crt" >/dev/null 2>&1 \
    && openssl x509 -checkend 2592000 -noout -in "$dir/public.crt" >/dev/null; then
    echo "certificate of $site is current"
  else
    extensions="$dir/extensions.cnf"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=DNS:$site,DNS:localhost" >"$extensions"
    openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/CN=$site" -keyout "$dir/private.key.new" -out "$dir/request.csr"
    openssl x509 -req -sha256 -days 825 -in "$dir/request.csr" -CA "$CA_CRT" -CAkey "$CA_KEY" \
      -set_serial "0x$(openssl rand -hex 16)" -extfile "$extensions" -out "$dir/public.crt.new"
    mv "$dir/private.key.new" "$dir/private.key"
    mv "$dir/public.crt.new" "$dir/public.crt"
    rm -f "$dir/request.csr" "$extensions"
    echo "certificate of $site issued"
  fi
  cp "$CA_CRT" "$dir/CAs/ca.crt"
  chmod 0644 "$dir/public.crt" "$dir/CAs/ca.crt"
done
