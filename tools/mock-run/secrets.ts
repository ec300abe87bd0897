// Under mocks, an input that was a Pulumi secret arrives wrapped in the wire format's secret
// envelope. These helpers unwrap it, and say where secrets were, so tests can assert that what
// must be secret is.
import { isUnknown } from "@pulumi/pulumi";
import type { PropertyMap } from "./property-map";

/** The wire format's marker for a secret value (sdk/nodejs/runtime/rpc.ts, specialSecretSig). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function isSecretEnvelope(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** The value wrapped the way the engine marks a secret on the wire. */
export function secretEnvelope(value: unknown): { value: unknown } {
  return isSecretEnvelope(value) ? value : ({ [SIG_KEY]: SECRET_SIG, value } as { value: unknown });
}

/**
 * How an unknown value (a preview's not-yet-computed output) appears in recorded inputs: the
 * engine's own wire marker for it (sdk/nodejs/runtime/rpc.ts, unknownValue).
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether a recorded value is, or contains, an unknown. */
export function containsUnknown(v: unknown): boolean {
  return v === UNKNOWN || (typeof v === "object" && v !== null && Object.values(v).some(containsUnknown));
}

/** The value with every secret envelope replaced by its content, and every unknown by UNKNOWN. */
export function unwrapSecrets<T = PropertyMap>(v: unknown): T {
  return unwrap(v) as T;
}

function unwrap(v: unknown): unknown {
  if (isUnknown(v)) return UNKNOWN;
  if (isSecretEnvelope(v)) return unwrap(v.value);
  if (Array.isArray(v)) return v.map(unwrap);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  return v;
}

/** Dotted paths (`uploads`, `envs[2]`) of the inputs that were secret. */
export function secretPaths(v: unknown, prefix = ""): string[] {
  if (isSecretEnvelope(v)) return [prefix];
  if (Array.isArray(v)) return v.flatMap((x, i) => secretPaths(x, `${prefix}[${i}]`));
  if (typeof v === "object" && v !== null) return Object.entries(v).flatMap(([k, x]) => secretPaths(x, prefix ? `${prefix}.${k}` : k));
  return [];
}
