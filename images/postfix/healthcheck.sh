#!/bin/bash
# Healthy = the SMTP listener on 25 answers with a 220 greeting (what a client would see first).
# Uses bash's /dev/tcp so the image needs no SMTP client; QUIT keeps the log free of "lost connection".
set -u
exec 3<>/dev/tcp/127.0.0.1/25 || exit 1
IFS= read -r -t 5 greeting <&3 || exit 1
printf 'QUIT\r\n' >&3
case "$greeting" in
  220*) exit 0 ;;
  *) echo "unexpected greeting: $greeting" >&2; exit 1 ;;
esac
