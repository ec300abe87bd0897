#!/bin/sh
# Healthy = a real HTTPS request, with SNI, for the MTA-STS policy of the first domain returns
# 200 (what a sending MTA fetches). Argument: the host name, e.g. mta-sts.example.com.
# --insecure: the container does not trust the platform's own CA; whether each name gets the right
# certificate is for the tests, this only asks whether nginx answers.
set -eu
host="$1"
exec curl --silent --show-error --fail --max-time 4 --insecure \
  --resolve "${host}:443:127.0.0.1" --output /dev/null \
  "https://${host}/.well-known/mta-sts.txt"
