#!/bin/sh
# Writes mail-platform-eicar.ndb into $1: a body signature for the EICAR anti-virus test string,
# so that a fresh container can start clamd and prove detection before freshclam has run.
# The string is joined from two halves so that this repository never contains it (scanners on
# developer machines would flag the file otherwise).
set -eu
dir="$1"
# shellcheck disable=SC2016 # literal halves of the test string: its $ characters are data
first='X5O!P%@AP[4\PZX54(P^)7CC)7}$EI'
# shellcheck disable=SC2016 # the same
second='CAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
tmp=$(mktemp)
printf '%s%s' "$first" "$second" >"$tmp"
# .ndb: Name:TargetType:Offset:HexSignature. Target 0 and offset * match anywhere in any file,
# including inside a mail body or a decoded attachment.
printf 'MailPlatform.Test.EICAR:0:*:%s\n' "$(sigtool --hex-dump <"$tmp" | tr -d '\n')" >"$dir/mail-platform-eicar.ndb"
rm -f "$tmp"
