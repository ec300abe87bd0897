// npm run render -- <stack file> <dir> [--working-secrets]
// Writes every config file the stack's containers would receive, one folder per container, so a
// reviewer can diff a configuration change in a pull request, and next to them each container's
// other settings (<dir>/<name>/.settings.json: image, ports, volumes, healthcheck, ...), which
// `npm run diff` compares too. Secrets are masked unless --working-secrets is given (the daemon
// tests need keys a daemon can parse; never commit those); secret settings are always masked.
import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../config/validate";
import { containerSettings, imageService } from "./container-settings";
import { runProgram } from "./mock-run/run-program";

export interface ManifestContainer {
  /** Container name on the Docker host. */
  name: string;
  /** The images/ folder its image is built from. */
  service: string;
  /** What it does (its `mail-platform.service` label): one image may serve two roles, e.g. PostfixAdmin's UI and its provisioning run. */
  role: string;
  envs: string[];
  command: string[];
  ports: { internal: number; external: number; ip?: string }[];
  /** Container paths of the uploaded files, also written under <dir>/<name>/. */
  files: string[];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const working = args.includes("--working-secrets");
  const [stackFile, outDir] = args.filter((a) => !a.startsWith("--"));
  if (!stackFile || !outDir) {
    console.error("usage: npm run render -- <Pulumi.<stack>.yaml> <output dir> [--working-secrets]");
    process.exit(2);
  }
  const run = await runProgram(path.resolve(stackFile), working ? "real" : "masked");
  const images = new Map(
    run.resources.filter((r) => r.type === "docker:index/remoteImage:RemoteImage").map((r) => [r.state.imageId as string, r]),
  );
  fs.rmSync(outDir, { recursive: true, force: true });
  const containers: ManifestContainer[] = [];
  for (const r of run.resources.filter((x) => x.type === "docker:index/container:Container")) {
    const uploads: { file: string; content?: string }[] = r.inputs.uploads ?? [];
    for (const u of uploads) {
      const target = path.join(outDir, r.inputs.name, u.file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, u.content ?? "");
    }
    fs.mkdirSync(path.join(outDir, r.inputs.name), { recursive: true });
    fs.writeFileSync(path.join(outDir, r.inputs.name, ".settings.json"), JSON.stringify(containerSettings(r, images), null, 2) + "\n");
    containers.push({
      name: r.inputs.name,
      service: imageService(images.get(r.inputs.image)) ?? "unknown",
      role:
        ((r.inputs.labels ?? []) as { label: string; value: string }[]).find((l) => l.label === "mail-platform.service")?.value ??
        "unknown",
      envs: r.inputs.envs ?? [],
      command: r.inputs.command ?? [],
      ports: r.inputs.ports ?? [],
      files: uploads.map((u) => u.file),
    });
  }
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "manifest.json"), JSON.stringify({ stack: run.stack, containers }, null, 2) + "\n");
  fs.writeFileSync(path.join(outDir, "outputs.json"), JSON.stringify(run.outputs, null, 2) + "\n");
  const fileCount = containers.reduce((n, c) => n + c.files.length, 0);
  console.log(
    `rendered ${fileCount} files for ${containers.length} containers of stack '${run.stack}' into ${outDir}${working ? " (WORKING SECRETS: do not commit)" : " (secrets masked)"}`,
  );
}

main().catch((e) => {
  console.error(e instanceof ConfigError ? e.message : e);
  process.exit(1);
});
