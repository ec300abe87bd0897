// The one mechanism for scheduled jobs: cron inside the container that owns the job's tools (no
// container reaches another through the Docker socket), every job run through images/lib/run-job,
// and the jobs' textfile metrics on one host path the monitoring reads.
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles, renderTemplates } from "../../render/template";

/** Where every job container mounts `volumePaths.metrics` (run-job's and write-metrics' default). */
const JOB_METRICS_DIR = "/var/lib/mail-platform/metrics";

/** The schedule's path inside the container; images/lib/start-jobs starts cron when it is there. */
const SCHEDULE_FILE = "/etc/cron.d/mail-platform";

export interface ScheduledJob {
  /** The job's name in its log lines and metrics; unique across the platform. */
  name: string;
  /** Five cron fields, as the stack's `schedules` has them (validated there). */
  schedule: string;
  /** The command run-job runs, with its arguments: one shell line. */
  command: string;
}

class ScheduleError extends Error {}

/** The crontab line of one job: run-job wraps the command, its output goes to cron's, the container's log. */
function cronLine(job: ScheduledJob): string {
  if (!/^[a-z0-9-]+$/.test(job.name)) throw new ScheduleError(`job name "${job.name}": lower-case letters, digits and dashes`);
  // cron turns an unescaped % into a newline, and a line break would end the entry.
  if (/[%\r\n]/.test(job.command)) throw new ScheduleError(`job ${job.name}: its command cannot hold % or a line break in a crontab`);
  if (job.schedule.split(" ").length !== 5) throw new ScheduleError(`job ${job.name}: "${job.schedule}" is not five cron fields`);
  // cron's own output, not PID 1's: a daemon that dropped root (clamd, amavisd) keeps root out of
  // its /proc/1/fd, and the redirection would fail before the job starts.
  return `${job.schedule} root run-job ${job.name} ${job.command} >/proc/$(cat /run/crond.pid)/fd/1 2>&1`;
}

/** The container's schedule file for `jobs`; none when there are no jobs. */
export function renderSchedule(jobs: ScheduledJob[]): RenderedFiles {
  if (jobs.length === 0) return {};
  const names = jobs.map((j) => j.name);
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length) throw new ScheduleError(`jobs scheduled twice in one container: ${[...new Set(twice)].join(", ")}`);
  return renderTemplates("cron", { [SCHEDULE_FILE]: { jobs: jobs.map(cronLine).join("\n") } });
}

/** The metrics mount every container with scheduled jobs gets. */
export function jobMetricsMount(p: Pick<PlatformConfig, "volumePaths">): { hostPath: string; containerPath: string } {
  return { hostPath: p.volumePaths.metrics, containerPath: JOB_METRICS_DIR };
}
