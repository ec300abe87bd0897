// The harness's contract with the real engine and providers: every resource type and input the
// program uses, what the real provider does with a change of it, where that was read, and how the
// harness mirrors it. The planner (plan.ts) decides replace / update / record-only from here,
// the appliers refuse any input that is not listed, and README.md in this folder is generated
// from it (`npm run docs:harness`; a unit test keeps it current).
//
// Read from: kreuzwerker/terraform-provider-docker v4.5.0 (what pulumi-docker bridges; 5.2.0 may
// bridge a later release, see `healthcheck`), pulumi/pulumi-docker provider/resources.go,
// hashicorp/terraform-provider-tls and -random (internal/provider), pulumi/pulumi
// pkg/resource/deploy/step_generator.go.

/** What the real provider does when the program changes an input. */
export type Effect =
  /** ForceNew / RequiresReplace: the resource is replaced (delete first where the contract says so). */
  | "replace"
  /** Applied to the running object in place by the provider's Update. */
  | "update"
  /** Written to the state only: the running object keeps the old value, silently. */
  | "recorded";

export interface InputRule {
  effect: Effect;
  /** What the provider does with the value, in a sentence. */
  provider: string;
  /** The upstream file it was read from. */
  source: string;
  /** How the harness mirrors it, where that says more than the effect does. */
  harness?: string;
  /** Fields of an object, or of each element of a list of objects. */
  fields?: Record<string, InputRule>;
  /**
   * Provider releases disagree on it: `recorded` up to kreuzwerker v4.5.0, `replace` after
   * kreuzwerker#989. The harness refuses a change of it that no replace-forcing input carries,
   * and counts it as replace-forcing wherever that is the safe assumption (cascades, previews).
   */
  ambiguous?: string;
}

export interface ResourceContract {
  /** Whether a replacement deletes the old object before creating the new one, by default. */
  deleteBeforeReplace: boolean;
  deleteBeforeReplaceSource: string;
  /** How the harness applies it. */
  harness: string;
  inputs: Record<string, InputRule>;
}

const KW = "kreuzwerker/terraform-provider-docker v4.5.0 internal/provider/";
const CONTAINER_SCHEMA = `${KW}resource_docker_container.go`;
const CONTAINER_FUNCS = `${KW}resource_docker_container_funcs.go`;
const IMAGE = `${KW}resource_docker_image.go, resource_docker_image_funcs.go, resource_docker_registry_image_funcs.go`;
const NETWORK = `${KW}resource_docker_network.go, resource_docker_network_funcs.go`;
const TLS = "hashicorp/terraform-provider-tls internal/provider/";
const RANDOM = "hashicorp/terraform-provider-random internal/provider/resource_password.go";

const replace = (provider: string, source: string, extra: Partial<InputRule> = {}): InputRule => ({
  effect: "replace",
  provider,
  source,
  ...extra,
});
const update = (provider: string, source: string, extra: Partial<InputRule> = {}): InputRule => ({
  effect: "update",
  provider,
  source,
  ...extra,
});
const recorded = (provider: string, source: string, extra: Partial<InputRule> = {}): InputRule => ({
  effect: "recorded",
  provider,
  source,
  ...extra,
});

/** A certificate subject: every field replace-forcing, as the whole block is. */
const subjectRule = (source: string): InputRule =>
  replace("RequiresReplace.", source, {
    fields: { commonName: replace("RequiresReplace.", source), organization: replace("RequiresReplace.", source) },
  });

const forceNewFields = (names: string[], what: string): Record<string, InputRule> =>
  Object.fromEntries(names.map((n) => [n, replace(`part of ${what}; ForceNew`, CONTAINER_SCHEMA)]));

export const CONTRACT: Record<string, ResourceContract> = {
  "pulumi:providers:docker": {
    deleteBeforeReplace: false,
    deleteBeforeReplaceSource: "pulumi/pulumi pkg/resource/deploy/step_generator.go",
    harness:
      "Talks to the engine at `host` through the Engine API; only unix:// sockets. The program refuses DOCKER_CONTEXT and the TLS variables (config/environment.ts), which the provider would let win over `host`.",
    inputs: {
      host: replace(
        "The engine's address; DOCKER_HOST is only its default. `context` (DOCKER_CONTEXT) would override it, the TLS settings (DOCKER_CERT_PATH, DOCKER_*_MATERIAL) would make it dial TLS, DOCKER_SSH_OPTS adds ssh options.",
        `${KW}provider.go, config.go`,
        { harness: "A change of host between deploys is refused: the harness deploys to one engine." },
      ),
    },
  },
  "docker:index/network:Network": {
    deleteBeforeReplace: false,
    deleteBeforeReplaceSource:
      "pulumi/pulumi-docker provider/resources.go sets no DeleteBeforeReplace for docker_network; the program sets the option (fixed names)",
    harness:
      "POST /networks/create with exactly these fields and no label of the harness's own (the provider reads labels back). A name already in use fails, as Docker fails the provider's create; nothing is adopted.",
    inputs: {
      name: replace("The network's name; ForceNew.", NETWORK),
      driver: replace("ForceNew, computed (bridge).", NETWORK),
      internal: replace("No route in or out; ForceNew.", NETWORK),
      ipamConfigs: replace("IPAM config set; ForceNew.", NETWORK, {
        fields: { subnet: replace("ForceNew.", NETWORK), gateway: replace("ForceNew.", NETWORK) },
      }),
    },
  },
  "docker:index/remoteImage:RemoteImage": {
    deleteBeforeReplace: false,
    deleteBeforeReplaceSource: "pulumi/pulumi-docker provider/resources.go (docker_image: no DeleteBeforeReplace)",
    harness:
      "Builds the way the provider's legacy path does: the context packed by the harness (.dockerignore honoured, 0:0) and POSTed to /build?version=2, i.e. with the engine's BuildKit; refuses an engine with the containerd image store, where that build fails (kreuzwerker#534). Builds only on create or replace, like the provider, never to refresh packages. An image without `build` is pulled by the provider; the harness cannot pull (no registry here) and refuses it.",
    inputs: {
      name: replace("The image's name and tag; ForceNew. The build tags it, Read finds it by it.", IMAGE),
      keepLocally: recorded("Read at delete: the image stays on the engine.", IMAGE, { harness: "The harness never removes images." }),
      build: {
        effect: "recorded",
        provider: "A set of one build block; its fields are ForceNew.",
        source: IMAGE,
        fields: {
          context: replace(
            "Directory packed as the build context, relative to the provider's working directory (the project's); ForceNew.",
            IMAGE,
            {
              harness: "Resolved against the project directory, where the engine starts providers.",
            },
          ),
          dockerfile: replace("Relative to the context; ForceNew.", IMAGE),
          buildArgs: replace("ForceNew.", IMAGE),
          labels: replace("Image labels (the legacy build reads `labels`, not `label`); ForceNew.", IMAGE),
          useLegacyBuilder: replace(
            "Skips the buildx CLI path; the build still runs on the engine's BuildKit (enableBuildKitIfSupported). ForceNew.",
            IMAGE,
          ),
        },
      },
    },
  },
  "docker:index/container:Container": {
    deleteBeforeReplace: true,
    deleteBeforeReplaceSource: "pulumi/pulumi-docker provider/resources.go: DeleteBeforeReplace for every docker_container",
    harness:
      "Creates as resourceDockerContainerCreate does: NetworkMode bridge, Init false, then disconnects bridge and connects each network, one tar per upload, start, health wait, attached runs waited for. After creating, it inspects the container and compares what the provider's Read would store with the inputs, and fails with 'a real `pulumi up` would show a diff on X' where they differ.",
    inputs: {
      name: replace("Container name; ForceNew.", CONTAINER_SCHEMA),
      image: replace("Image id; ForceNew.", CONTAINER_SCHEMA),
      hostname: replace("ForceNew; read back from Config.Hostname.", CONTAINER_SCHEMA),
      restart: update("Restart policy; updated in place (ContainerUpdate); read back.", CONTAINER_FUNCS),
      mustRun: update(
        "A Read that finds the container stopped sets it false in the state (refresh only); Update then starts the container.",
        CONTAINER_FUNCS,
        {
          harness:
            "Pulumi.yaml's `refresh: always` makes every deploy refresh first: a stopped container is started, a removed one re-created.",
        },
      ),
      wait: recorded("Create waits for Docker's health status `healthy`, polling inspect every second.", CONTAINER_FUNCS, {
        harness:
          "Also runs the same check itself, with the check's own timeout, so the first interval need not pass; the outcome is the same.",
      }),
      waitTimeout: recorded(
        "How long Create waits for healthy; then the create fails and the engine replaces it on the next up.",
        CONTAINER_FUNCS,
      ),
      stopTimeout: replace("Config.StopTimeout; ForceNew; read back.", CONTAINER_SCHEMA),
      destroyGraceSeconds: recorded("Seconds Delete lets the container stop before removing it.", CONTAINER_FUNCS),
      networkMode: replace(
        "HostConfig.NetworkMode; ForceNew; schema default bridge, always sent; read back. `host`: no networks_advanced to connect, and Docker refuses a hostname or DNS servers with it.",
        CONTAINER_SCHEMA,
      ),
      capabilities: replace(
        "One block of two sets, add and drop, sent as HostConfig.CapAdd/CapDrop; ForceNew; Read sets it from them when either is not empty.",
        CONTAINER_SCHEMA,
        { fields: forceNewFields(["adds", "drops"], "capabilities") },
      ),
      networksAdvanced: replace("Connected after create (bridge disconnected first); ForceNew.", CONTAINER_SCHEMA, {
        fields: forceNewFields(["name", "aliases"], "networks_advanced"),
      }),
      ports: replace("Published ports; ForceNew; read back sorted, ip defaults to 0.0.0.0.", CONTAINER_SCHEMA, {
        fields: forceNewFields(["internal", "external", "ip", "protocol"], "ports"),
      }),
      volumes: replace(
        "Binds host_path:container_path:rw (or :ro with read_only) and Config.Volumes; ForceNew; not read back.",
        CONTAINER_SCHEMA,
        {
          fields: forceNewFields(["hostPath", "containerPath", "readOnly"], "volumes"),
        },
      ),
      tmpfs: recorded(
        "HostConfig.Tmpfs at create; not ForceNew and not in Update: a change is recorded and never applied.",
        CONTAINER_FUNCS,
        {
          harness:
            "Records a change without touching the container, like the provider; the program hashes tmpfs into a label so a change replaces it.",
        },
      ),
      envs: replace("ForceNew.", CONTAINER_SCHEMA),
      dns: replace("HostConfig.DNS; ForceNew; read back.", CONTAINER_SCHEMA),
      command: replace("Config.Cmd; ForceNew; read back.", CONTAINER_SCHEMA),
      entrypoints: replace("Config.Entrypoint; ForceNew; read back.", CONTAINER_SCHEMA),
      uploads: replace(
        "Each file is a one-entry tar (mode from permissions, else 0744 executable / 0644, owner 0:0, no directory entries) copied to / before start; content must not be empty; ForceNew.",
        CONTAINER_FUNCS,
        {
          fields: forceNewFields(["file", "content", "permissions"], "upload"),
        },
      ),
      healthcheck: recorded("Config.Healthcheck at create; read back with Go duration strings (1m0s, not 60s).", CONTAINER_SCHEMA, {
        ambiguous:
          "Not ForceNew and not in Update up to v4.5.0 (a change is silently not applied, kreuzwerker#988); ForceNew after kreuzwerker#989.",
        fields: Object.fromEntries(
          ["tests", "interval", "timeout", "startPeriod", "retries"].map((f) => [
            f,
            recorded("Part of healthcheck; see healthcheck.", CONTAINER_SCHEMA),
          ]),
        ),
      }),
      memory: update("HostConfig.Memory in MiB; updated in place; read back.", CONTAINER_FUNCS),
      memorySwap: update(
        "HostConfig.MemorySwap in MiB; updated in place; read back (Docker makes it twice the memory when unset).",
        CONTAINER_FUNCS,
      ),
      logDriver: replace("ForceNew; read back.", CONTAINER_SCHEMA),
      logOpts: replace("ForceNew; read back with whatever the daemon's own log-opts add.", CONTAINER_SCHEMA),
      labels: replace("ForceNew; not read back.", CONTAINER_SCHEMA, { fields: forceNewFields(["label", "value"], "labels") }),
      attach: recorded("Create waits for the container to exit and reports exit_code.", CONTAINER_FUNCS),
      logs: recorded("With attach, Create stores the whole followed log in container_logs.", CONTAINER_FUNCS),
    },
  },
  "tls:index/privateKey:PrivateKey": {
    deleteBeforeReplace: false,
    deleteBeforeReplaceSource: "pulumi/pulumi step_generator.go (create before delete unless asked)",
    harness:
      "Material generated with Node's crypto in the provider's formats (PKCS#1 RSA, SEC1 EC), kept in the harness's state like Pulumi's.",
    inputs: {
      algorithm: replace("RequiresReplace.", `${TLS}resource_private_key.go`),
      rsaBits: replace("RequiresReplace.", `${TLS}resource_private_key.go`),
      ecdsaCurve: replace("RequiresReplace.", `${TLS}resource_private_key.go`),
    },
  },
  "tls:index/certRequest:CertRequest": {
    deleteBeforeReplace: false,
    deleteBeforeReplaceSource: "pulumi/pulumi step_generator.go",
    harness: "openssl req with the same subject and SANs.",
    inputs: {
      privateKeyPem: replace("RequiresReplace.", `${TLS}resource_cert_request.go`),
      dnsNames: replace("RequiresReplace.", `${TLS}resource_cert_request.go`),
      subject: subjectRule(`${TLS}resource_cert_request.go`),
    },
  },
  "tls:index/selfSignedCert:SelfSignedCert": {
    deleteBeforeReplace: false,
    deleteBeforeReplaceSource: "pulumi/pulumi step_generator.go",
    harness: "openssl req -x509 with the CA extensions asked for.",
    inputs: {
      privateKeyPem: replace("RequiresReplace.", `${TLS}resource_self_signed_cert.go`),
      subject: subjectRule(`${TLS}resource_self_signed_cert.go`),
      validityPeriodHours: replace("RequiresReplace.", `${TLS}common_cert.go`),
      allowedUses: replace("RequiresReplace.", `${TLS}common_cert.go`),
      isCaCertificate: replace("RequiresReplace.", `${TLS}common_cert.go`),
    },
  },
  "tls:index/locallySignedCert:LocallySignedCert": {
    deleteBeforeReplace: false,
    deleteBeforeReplaceSource: "pulumi/pulumi step_generator.go",
    harness: "openssl x509 -req signed by the given CA; replaced once inside its early-renewal window, as the provider's ModifyPlan does.",
    inputs: {
      certRequestPem: replace("RequiresReplace (unless the state holds the same PEM).", `${TLS}resource_locally_signed_cert.go`),
      caPrivateKeyPem: replace("RequiresReplace.", `${TLS}resource_locally_signed_cert.go`),
      caCertPem: replace("RequiresReplace.", `${TLS}resource_locally_signed_cert.go`),
      validityPeriodHours: replace("RequiresReplace.", `${TLS}common_cert.go`),
      allowedUses: replace("RequiresReplace.", `${TLS}common_cert.go`),
      earlyRenewalHours: update(
        "Updated in place; once now is within it of the end, ModifyPlan marks the certificate for replacement.",
        `${TLS}common_cert.go`,
      ),
    },
  },
  "random:index/randomPassword:RandomPassword": {
    deleteBeforeReplace: false,
    deleteBeforeReplaceSource: "pulumi/pulumi step_generator.go",
    harness: "The provider's character classes and minimums; bcrypt cost 10 with Go's $2a$ prefix.",
    inputs: Object.fromEntries(
      ["length", "special", "minLower", "minUpper", "minNumeric"].map((k) => [k, replace("RequiresReplace.", RANDOM)]),
    ),
  },
};

/** Data sources (invokes) the program calls, and what the provider answers. */
export const DATA_SOURCES: Record<string, { provider: string; source: string; harness: string }> = {
  "docker:index/getRemoteImage:getRemoteImage": {
    provider: "Inspects the named image on the engine; `id` is its image id. Fails when the image is absent. Runs in previews too.",
    source: `${KW}data_source_docker_image.go`,
    harness: "GET /images/<name>/json on the same engine.",
  },
};

/** Resource options: what the engine does with each, and whether the harness models it. */
export const OPTIONS: Record<string, { modelled: boolean; engine: string }> = {
  parent: { modelled: true, engine: "URN and component nesting; nothing on the engine side." },
  provider: {
    modelled: true,
    engine:
      "Docker resources must name the stack's provider (Pulumi.yaml disables the default docker provider); the harness refuses one without it.",
  },
  dependsOn: {
    modelled: true,
    engine: "Ordering only: never part of the replacement cascade (step_generator.go, calculateDependentReplacements).",
  },
  deleteBeforeReplace: {
    modelled: true,
    engine:
      "Replacement deletes first; the engine first deletes every dependent whose replace-forcing inputs take this resource's outputs.",
  },
  protect: { modelled: true, engine: "A replacement or deletion fails the update." },
  additionalSecretOutputs: { modelled: true, engine: "Those outputs are secret (the mock run marks them, as the engine does)." },
  ignoreChanges: { modelled: false, engine: "Not used; refused." },
  replaceOnChanges: { modelled: false, engine: "Not used; refused." },
  aliases: { modelled: false, engine: "Not used; refused." },
  deletedWith: { modelled: false, engine: "Not used; refused." },
  retainOnDelete: { modelled: false, engine: "Not used; refused." },
  importId: { modelled: false, engine: "Not used; refused." },
  customTimeouts: { modelled: false, engine: "Not used; refused." },
  replaceWith: { modelled: false, engine: "Not used; refused." },
  replacementTrigger: { modelled: false, engine: "Not used; refused." },
  hooks: { modelled: false, engine: "Not used; refused." },
};

/** The rule for a dotted input path (`uploads[].content`), or undefined when the contract has none. */
export function ruleFor(type: string, inputPath: string): InputRule | undefined {
  const parts = inputPath.replace(/\[\]/g, "").split(".");
  let rules: Record<string, InputRule> | undefined = CONTRACT[type]?.inputs;
  let rule: InputRule | undefined;
  for (const p of parts) {
    rule = rules?.[p];
    if (!rule) return undefined;
    rules = rule.fields;
  }
  return rule;
}

/** Map-valued inputs: their keys are data (label names, paths), not fields. */
export const MAP_INPUTS: Record<string, string[]> = {
  "docker:index/container:Container": ["tmpfs", "logOpts"],
  "docker:index/remoteImage:RemoteImage": ["build.buildArgs", "build.labels"],
};

/** Every dotted path of set values in a resource's inputs, lists as `[]`, maps cut at the map. */
export function inputPaths(type: string, inputs: Record<string, unknown>): string[] {
  const maps = MAP_INPUTS[type] ?? [];
  const out = new Set<string>();
  const walk = (v: unknown, p: string): void => {
    if (v === undefined || v === null) return;
    const bare = p.replace(/\[\]/g, "");
    if (Array.isArray(v)) {
      if (!v.some((x) => typeof x === "object" && x !== null)) out.add(p);
      for (const x of v) if (typeof x === "object" && x !== null) walk(x, `${p}[]`);
      return;
    }
    if (typeof v === "object" && !maps.includes(bare)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, p ? `${p}.${k}` : k);
      return;
    }
    out.add(p);
  };
  walk(inputs, "");
  return [...out].sort();
}
