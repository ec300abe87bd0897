// Reads the stack config exactly once. Only this file touches pulumi.Config; components receive
// the typed PlatformConfig.
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig, resolvePlatform } from "./platform";
import { environmentProblems } from "./environment";
import { configWarnings } from "./warnings";
import { CONFIG_NAMESPACE, ConfigError, validateStack } from "./validate";

/** Pulumi stores every config value as a string; structured and typed values arrive as JSON. */
function decodeConfigValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** The namespace's keys from a flat `namespace:key -> value` map. */
export function namespaceValues(all: Record<string, unknown>): Record<string, unknown> {
  const prefix = `${CONFIG_NAMESPACE}:`;
  return Object.fromEntries(
    Object.entries(all)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

export function loadPlatformConfig(): PlatformConfig {
  const raw = namespaceValues(Object.fromEntries(Object.entries(pulumi.runtime.allConfig()).map(([k, v]) => [k, decodeConfigValue(v)])));
  const result = validateStack(raw);
  const environment = environmentProblems(process.env);
  if (!result.ok || environment.length) throw new ConfigError([...(result.ok ? [] : result.problems), ...environment]);
  for (const warning of configWarnings(result.value)) void pulumi.log.warn(warning);
  return resolvePlatform(result.value, pulumi.getStack());
}
