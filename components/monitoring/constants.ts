// What the Monitoring's renderer, component, image and tests agree on.

/** Network alias of the monitoring container; the front reaches Prometheus through Monitoring.webApp. */
export const MONITORING_ALIAS = "monitoring";

/** Prometheus inside the container: the one port other containers reach (the HTTPS front). */
export const PROMETHEUS_PORT = 9090;

/** Local ports of the exporters and Alertmanager, which only Prometheus inside the container reads. */
export const LOCAL_PORTS = { alertmanager: 9093, blackbox: 9115, node: 9100, postfix: 9154, mysqld: 9104, mtail: 3903 } as const;

/** Prometheus's and Alertmanager's state: the host path `volumePaths.monitoring` is mounted here. */
export const MONITORING_DATA_DIR = "/var/lib/prometheus";

/** Where Postfix's public/ directory (its showq socket) is mounted read-only, as the exporter expects it. */
export const POSTFIX_PUBLIC_DIR = "/var/spool/postfix/public";

/** Empty directories on the SSD and bulk roots: their file systems' free space is what the disk alert reads. */
export const DISK_MOUNTS = { ssd: "/srv/ssd", bulk: "/srv/bulk" } as const;

/** The host directory under each root that stands for its file system (mounted read-only, never written). */
export const DISK_MARKER_DIR = ".monitoring-disk";

/** The DNS records check's job name and its list of the records to find published. */
export const DNS_CHECK_JOB = "dns-check";
export const DNS_CHECK_FILE = "/etc/mail-platform/dns-check.conf";

/** The rendered alert rules, where prometheus.yml reads them. */
export const ALERT_RULES_FILE = "/etc/prometheus/rules/alerts.yml";

/** Files holding secrets, readable by their daemon only (the entrypoint hands them to its user). */
export const SECRET_FILES = ["/etc/prometheus/alertmanager.yml", "/etc/prometheus/mysqld.cnf"] as const;
