#!/bin/sh
# moto_server on every address of the container (its default, 127.0.0.1, answers only inside
# it), port $S3_PORT (5000). It starts without a bucket: the backup job's first run creates its
# own, as it must against a real service whose operator made none.
set -eu
exec moto_server -H 0.0.0.0 -p "${S3_PORT:-5000}"
