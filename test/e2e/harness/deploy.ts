// Deploys the real program onto the local Docker engine: index.ts runs under Pulumi's mocks and
// every resource it registers is applied for real, in registration order, before the program
// sees its outputs. Nothing here describes the platform; the program does.
import * as path from "path";
import { readStackFile } from "../../../config/stack-file";
import { ProgramRun, runProgram } from "../../../tools/mock-run/run-program";
import { ApplyContext, applyContainer, applyImage, applyMaterial, applyNetwork, applyProvider, Resource } from "./appliers";
import { Engine } from "./engine";
import { HarnessState } from "./state";

export interface DeployResult {
  run: ProgramRun;
  state: HarnessState;
  seconds: number;
}

const MATERIAL = [
  "tls:index/privateKey:PrivateKey",
  "tls:index/certRequest:CertRequest",
  "tls:index/selfSignedCert:SelfSignedCert",
  "tls:index/locallySignedCert:LocallySignedCert",
  "random:index/randomPassword:RandomPassword",
];

export async function deploy(stackFile: string, stateFile: string, log: (line: string) => void = console.log): Promise<DeployResult> {
  const started = Date.now();
  const state = new HarnessState(stateFile);
  const storage = readStackFile(stackFile).values.storage as { ssdRoot: string; bulkRoot: string } | undefined;
  for (const root of [storage?.ssdRoot, storage?.bulkRoot]) if (root) state.remember("storageRoots", root);
  const ctx: ApplyContext = { engine: () => Engine.fromHost(state.dockerHost), dockerHost: () => state.dockerHost, state, log };
  try {
    const run = await runProgram(path.resolve(stackFile), "real", async (r: Resource & { provider?: string }, generated) => {
      if (r.type.startsWith("docker:") && r.provider && !r.provider.includes("pulumi:providers:docker::")) {
        throw new Error(`${r.name} uses an unknown provider ${r.provider}`);
      }
      if (r.type === "pulumi:pulumi:Stack" || r.type.startsWith("mail-platform:")) return generated;
      if (MATERIAL.includes(r.type)) return applyMaterial(r, generated, ctx);
      switch (r.type) {
        case "pulumi:providers:docker":
          return applyProvider(r, ctx);
        case "docker:index/network:Network":
          return applyNetwork(r, ctx);
        case "docker:index/remoteImage:RemoteImage":
          return applyImage(r, ctx);
        case "docker:index/container:Container":
          return applyContainer(r, ctx);
        default:
          throw new Error(`the e2e harness does not know how to apply ${r.type} (${r.name})`);
      }
    });
    return { run, state, seconds: (Date.now() - started) / 1000 };
  } finally {
    state.save();
  }
}

/** Removes what `deploy` created: containers, then networks, then (unless kept) the data under the storage roots. */
export async function destroy(stateFile: string, keepData: boolean, log: (line: string) => void = console.log): Promise<void> {
  const state = new HarnessState(stateFile);
  const engine = Engine.fromHost(state.dockerHost);
  for (const name of [...state.created.containers].reverse()) {
    const r = await engine.request("DELETE", `/containers/${name}?force=1`);
    if (r.status < 300) log(`container ${name} removed`);
  }
  for (const name of [...state.created.networks].reverse()) {
    // Test hosts attached by the suite (the simulated Internet) go with the network.
    const net = await engine.find(`/networks/${name}`);
    for (const id of Object.keys(net?.Containers ?? {})) await engine.request("DELETE", `/containers/${id}?force=1`);
    const r = await engine.request("DELETE", `/networks/${name}`);
    if (r.status < 300) log(`network ${name} removed`);
    else if (r.status !== 404) throw new Error(`removing network ${name}: ${r.status} ${r.body}`);
  }
  if (!keepData) {
    const fs = await import("fs");
    for (const root of state.created.storageRoots) {
      fs.rmSync(root, { recursive: true, force: true });
      log(`data under ${root} removed`);
    }
    fs.rmSync(stateFile, { force: true });
  } else {
    state.created.containers = [];
    state.created.networks = [];
    state.save();
  }
}
