#!/bin/sh
# Healthy = the admin login form renders: Apache answers, PHP runs, config.local.php loads, and
# PostfixAdmin reached its database (login.php checks the schema version first and dies without
# it). Plain HTTP on loopback: TLS ends at the ReverseProxy.
set -eu
curl --silent --show-error --fail --max-time 4 http://127.0.0.1/login.php | grep -q 'name="fUsername"'
