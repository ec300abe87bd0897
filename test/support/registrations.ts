// Reading what a component or the whole program registered (test/support/mocks.ts records the
// former, tools/mock-run/run-program.ts the latter): a container by its name, the files it is handed.
import { strict as assert } from "assert";
import type { Registration } from "../../tools/mock-run/recording-monitor";

/** A file a container is handed before start (the provider's `uploads`). */
interface Upload {
  file: string;
  content: string;
  permissions: string;
}

const uploadsOf = (c: Registration): Upload[] => (c.inputs.uploads ?? []) as Upload[];

/** The container among `resources` whose Docker name ends in `-<suffix>` (`postfix`, `piler`); fails listing the names there are. */
export function containerNamed<R extends Registration>(resources: R[], suffix: string): R {
  const containers = resources.filter((r) => r.type === "docker:index/container:Container");
  const c = containers.find((r) => r.inputs.name.endsWith(`-${suffix}`));
  assert.ok(c, `no container named *-${suffix}; have ${containers.map((r) => r.inputs.name).join(", ")}`);
  return c;
}

/** The content of the file the container is handed at `file`; fails listing the files it has. */
export function uploadOf(c: Registration, file: string): string {
  const u = uploadsOf(c).find((x) => x.file === file);
  assert.ok(
    u,
    `${c.inputs.name} receives no ${file}; it has ${uploadsOf(c)
      .map((x) => x.file)
      .join(", ")}`,
  );
  return u.content;
}

/** file -> mode (`0600`, `0644`) of every file the container is handed. */
export function uploadModes(c: Registration): Record<string, string> {
  return Object.fromEntries(uploadsOf(c).map((u) => [u.file, u.permissions]));
}

interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
}

/**
 * A container's mounts without its own log directory, which serviceContainer adds to every one
 * (test/unit/service-container.test.ts checks that). A reader's read-only mount of another
 * component's log stays.
 */
export function dataVolumes(inputs: { volumes?: Mount[] }): Mount[] {
  return (inputs.volumes ?? []).filter((v) => v.readOnly || !v.containerPath.startsWith("/var/log/mail-platform/"));
}

/** A container's environment without log-to-file's variables (serviceContainer adds them to every one). */
export function ownEnvs(inputs: { envs?: string[] }): string[] {
  return (inputs.envs ?? []).filter((e) => !e.startsWith("MAIL_PLATFORM_LOG_"));
}
