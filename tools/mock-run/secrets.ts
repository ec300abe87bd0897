// Under mocks, an input that was a Pulumi secret arrives wrapped in the wire format's secret
// envelope. These helpers unwrap it, and say where secrets were, so tests can assert that what
// must be secret is.

/** The wire format's marker for a secret value (sdk/nodejs/runtime/rpc.ts, specialSecretSig). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function isSecretEnvelope(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** The value with every secret envelope replaced by its content. */
export function unwrapSecrets(v: unknown): any {
  if (isSecretEnvelope(v)) return unwrapSecrets(v.value);
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  return v;
}

/** Dotted paths (`uploads`, `envs[2]`) of the inputs that were secret. */
export function secretPaths(v: unknown, prefix = ""): string[] {
  if (isSecretEnvelope(v)) return [prefix];
  if (Array.isArray(v)) return v.flatMap((x, i) => secretPaths(x, `${prefix}[${i}]`));
  if (typeof v === "object" && v !== null) return Object.entries(v).flatMap(([k, x]) => secretPaths(x, prefix ? `${prefix}.${k}` : k));
  return [];
}
