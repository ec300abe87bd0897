#!/bin/bash
# Healthy when IMAP greets on 143 and LMTP (Postfix's delivery target) greets on 24.
set -u
greets() { # port, expected greeting prefix
  timeout 4 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1; IFS= read -r line <&3 || exit 1; case "$line" in "$1"*) exit 0;; *) exit 1;; esac' "$1" "$2"
}
greets 143 '* OK' && greets 24 '220 '
