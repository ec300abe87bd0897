#!/bin/sh
# Healthy = the login page renders: Apache answers, PHP runs, and Roundcube reached its database
# (sessions live there; without it the page is an error). Plain HTTP on loopback: TLS ends at the
# ReverseProxy.
set -eu
curl --silent --show-error --fail --max-time 4 http://127.0.0.1/ | grep -q 'id="rcmloginuser"'
