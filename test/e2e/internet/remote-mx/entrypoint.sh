#!/bin/sh
# Makes a fresh self-signed certificate for the MX's host name (so each container has its own key,
# none baked into the image), then runs the SMTP server as PID 1.
set -eu
: "${MX_HOSTNAME:=$(hostname -f 2>/dev/null || hostname)}"
export MX_HOSTNAME
export TLS_CERT=/etc/remote-mx/cert.pem TLS_KEY=/etc/remote-mx/key.pem
mkdir -p /etc/remote-mx
if [ ! -s "$TLS_CERT" ] || [ ! -s "$TLS_KEY" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=$MX_HOSTNAME" -addext "subjectAltName=DNS:$MX_HOSTNAME" \
    -keyout "$TLS_KEY" -out "$TLS_CERT" 2>/dev/null
fi
exec python3 -u /usr/local/lib/remote-mx/remote_mx.py "$@"
