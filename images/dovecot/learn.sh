#!/bin/sh
# Called by the imapsieve scripts (sieve_extprograms "pipe") with the message on stdin:
#   learn spam|ham <spamd host> <spamd port>
# Hands the message to the ContentFilter's spamd to train Bayes. A failure is logged by dovecot
# but never blocks the user's COPY/MOVE.
set -eu
case "${1:-}" in spam|ham) ;; *) echo "learn: first argument must be spam or ham" >&2; exit 64;; esac
exec /usr/bin/spamc --no-safe-fallback -d "$2" -p "$3" -L "$1" >/dev/null
