#!/bin/sh
# The bans container's start: fail2ban's server in the foreground, its bans in the Docker host's
# DOCKER-USER chain. Docker writes its chains with one of iptables' two back ends (nf_tables or
# legacy); a ban written with the other would sit in tables no packet passes, so the back end
# that holds DOCKER-USER is the one used, and without one the container refuses to start.
set -eu
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
backend=
for candidate in nft legacy; do
  if "iptables-$candidate" -w -n -L DOCKER-USER >/dev/null 2>&1; then
    backend=$candidate
    break
  fi
done
if [ -z "$backend" ]; then
  echo "bans: no DOCKER-USER chain in iptables (nf_tables or legacy): the container must run in the Docker host's network namespace (network mode host) with NET_ADMIN, on an engine that manages iptables (dockerd's default)" >&2
  exit 1
fi
update-alternatives --quiet --set iptables "/usr/sbin/iptables-$backend"
# A container that was killed (not stopped) left its chains behind; fail2ban would add the bans
# it restores from its database to them a second time, and an unban would then lift only one.
# Only this stack's chains (f2b-<jail>-<MAIL_PLATFORM_BAN_CHAIN_ID>): another stack may share
# the host.
id=${MAIL_PLATFORM_BAN_CHAIN_ID:-}
if [ -n "$id" ]; then
  for file in /etc/fail2ban/jail.d/*.local; do
    [ -e "$file" ] || continue
    chain="f2b-$(basename "$file" .local)-$id"
    iptables -w -n -L "$chain" >/dev/null 2>&1 || continue
    while iptables -w -D DOCKER-USER -p tcp -j "$chain" 2>/dev/null; do :; done
    iptables -w -F "$chain"
    iptables -w -X "$chain"
    echo "bans: removed the chain $chain a previous container left; its bans come back from the database"
  done
fi
echo "bans: Docker's chains are in iptables-$backend; bans go to DOCKER-USER, in chains f2b-<jail>-${id:-<id>}"
mkdir -p /run/fail2ban /var/lib/fail2ban
# -x: a socket left by a killed server is removed instead of refusing to start.
exec fail2ban-server -f -x
