#!/bin/bash
# PID 1 of the monitoring container: prepares the data directory and the uploaded secrets, then
# starts Prometheus, Alertmanager, the exporters and mtail side by side, each logging to the
# container's own stdout/stderr. The set lives and dies together: as soon as one of them exits,
# the others are stopped and this script exits non-zero, so Docker's restart policy starts them
# all again rather than leaving a Prometheus that scrapes a dead exporter. SIGTERM (docker stop)
# stops them all and exits 0.
set -euo pipefail

readonly RUN_AS=(setpriv --reuid=prometheus --regid=prometheus --init-groups --)
readonly DATA=/var/lib/prometheus
# Where the components write their logs (components/host/component-logs.ts), mounted read-only.
readonly POSTFIX_LOG=/var/log/mail-platform/postfix/postfix.log
readonly AMAVIS_LOG=/var/log/mail-platform/amavis/amavis.log

retention=${RETENTION_DAYS:-30}
if [[ ! $retention =~ ^[1-9][0-9]*$ ]]; then
  echo "monitoring: RETENTION_DAYS is a whole number of days (1 or more), got '$retention'" >&2
  exit 64
fi

# A one-off command (a config check) gets the image without the daemons.
if [[ $# -gt 0 ]]; then
  exec "$@"
fi

# The data directory is a host path, root-owned and empty on a first start. The prometheus
# user's id is whatever Debian's package gave it in this build: a tree written by an earlier
# image with another id is handed over once (recursively only then: the TSDB can be large).
prom_uid=$(id -u prometheus)
chown prometheus:prometheus "$DATA"
for dir in "$DATA/data" "$DATA/alertmanager"; do
  install -d -o prometheus -g prometheus -m 0750 "$dir"
  if [[ $(find "$dir" ! -uid "$prom_uid" -print -quit) ]]; then
    chown -R prometheus:prometheus "$dir"
  fi
done

# The files with passwords (the relay's, the exporter's) arrive root-owned, mode 0600: readable
# by the one daemon that needs them, which runs as prometheus.
for secret in /etc/prometheus/alertmanager.yml /etc/prometheus/mysqld.cnf; do
  if [[ -f $secret ]]; then
    chown prometheus:prometheus "$secret"
    chmod 0600 "$secret"
  fi
done

declare -A names=()
stopping=0

# track NAME: remembers the daemon just started in the background (`$!`) under NAME.
track() {
  names[$!]=$1
  echo "monitoring: started $1 (pid $!)"
}

signal_all() {
  if [[ ${#names[@]} -gt 0 ]]; then
    kill -TERM "${!names[@]}" 2>/dev/null || true
  fi
}
# SIGTERM/SIGINT: ask every daemon to stop; the loops below wait for them.
trap 'stopping=1; signal_all' TERM INT

"${RUN_AS[@]}" prometheus \
  --config.file=/etc/prometheus/prometheus.yml \
  --storage.tsdb.path="$DATA/data" \
  --storage.tsdb.retention.time="${retention}d" \
  --web.listen-address=0.0.0.0:9090 \
  --web.enable-lifecycle \
  --web.user-assets=/usr/share/mail-platform/dashboard &
track prometheus

"${RUN_AS[@]}" prometheus-alertmanager \
  --config.file=/etc/prometheus/alertmanager.yml \
  --storage.path="$DATA/alertmanager" \
  --web.listen-address=127.0.0.1:9093 \
  --cluster.listen-address= &
track alertmanager

# Debian's 0.26 logs every step of every successful probe at info, whatever --log.prober says
# (prometheus/blackbox_exporter#1411, fixed in 0.28); at warn only failed probes are logged.
"${RUN_AS[@]}" prometheus-blackbox-exporter \
  --config.file=/etc/prometheus/blackbox.yml \
  --web.listen-address=127.0.0.1:9115 \
  --log.level=warn &
track blackbox-exporter

# Free space of the two roots only (the other mounts are the container's own), and the jobs'
# textfile metrics. Debian turns the systemd collector on, which fails on every scrape here.
"${RUN_AS[@]}" prometheus-node-exporter \
  --web.listen-address=127.0.0.1:9100 \
  --collector.textfile.directory=/var/lib/mail-platform/metrics \
  --collector.filesystem.mount-points-include='^/srv/(ssd|bulk)$' \
  --no-collector.systemd &
track node-exporter

# As root: the showq socket's directory is 0710 root:postdrop, and postdrop's gid is the Postfix
# image's, not this one's. Debian's exporter (0.3) reads only a log file (no journal), follows it
# across rotation, but exits if it is missing at start: with Postfix's log directory mounted it
# waits for the first line; without it (Postfix logs to its container's output only) it reads
# nothing, and the queue metrics from showq are all it gives.
(
  log=/dev/null
  if [[ -d ${POSTFIX_LOG%/*} ]]; then
    until [[ -e $POSTFIX_LOG ]]; do sleep 2; done
    log=$POSTFIX_LOG
  fi
  exec prometheus-postfix-exporter \
    --web.listen-address=127.0.0.1:9154 \
    --postfix.showq_path=/var/spool/postfix/public/showq \
    --postfix.logfile_path="$log"
) &
track postfix-exporter

# No replication here: SHOW SLAVE STATUS would need a right the exporter's account does not get.
if [[ -f /etc/prometheus/mysqld.cnf ]]; then
  "${RUN_AS[@]}" prometheus-mysqld-exporter \
    --config.my-cnf=/etc/prometheus/mysqld.cnf \
    --no-collect.slave_status \
    --web.listen-address=127.0.0.1:9104 &
  track mysqld-exporter
fi

shopt -s nullglob
programs=(/etc/mtail/*.mtail)
shopt -u nullglob
if [[ ${#programs[@]} -gt 0 ]]; then
  # As root, like the Postfix exporter: the components' log files are root's, mode 0640 (they
  # hold addresses). Only Amavis's log: the programs read its lines. mtail re-reads the glob on
  # every poll, so a file created after the start is tailed too.
  mtail \
    --logtostderr \
    --address=127.0.0.1 \
    --port=3903 \
    --progs=/etc/mtail \
    --logs="$AMAVIS_LOG" \
    --poll_interval=1s &
  track mtail
fi

# The scheduled jobs (the DNS records check), when the deployment uploaded a schedule. cron
# ignores a file in /etc/cron.d that others can write.
if [[ -f /etc/cron.d/mail-platform ]]; then
  chmod 0644 /etc/cron.d/mail-platform
  cron -f &
  track cron
fi

# Until a daemon exits or a signal arrives (a trapped signal ends `wait` early, status > 128).
status=0
while true; do
  exited=
  if wait -n -p exited; then status=0; else status=$?; fi
  if [[ $stopping -eq 1 ]]; then
    break
  fi
  if [[ -n $exited ]]; then
    echo "monitoring: ${names[$exited]:-pid $exited} exited with status $status; stopping the others" >&2
    unset "names[$exited]"
    signal_all
    break
  fi
done

# Let every daemon finish its shutdown (Prometheus closes its TSDB head) before PID 1 goes.
while [[ ${#names[@]} -gt 0 ]]; do
  exited=
  rc=0
  wait -n -p exited || rc=$?
  if [[ -n $exited ]]; then
    unset "names[$exited]"
  elif [[ $rc -eq 127 ]]; then
    break # no child left to wait for
  fi
done

if [[ $stopping -eq 1 ]]; then
  echo "monitoring: stopped"
  exit 0
fi
exit $((status == 0 ? 1 : status))
