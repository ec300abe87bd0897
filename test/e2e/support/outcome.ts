// How an e2e check reports: a failure says what was expected, what was seen, and the logs of the
// services behind it; a comparison that passed is printed, so the run's output shows what was checked.
import { strict as assert } from "assert";
import { logs } from "./platform";

const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));

/** A check that fails with expected, seen, and the last lines of `services`' logs. */
export function checkWithLogs(services: string[]): (ok: boolean, what: string, expected: unknown, seen: unknown) => void {
  return (ok, what, expected, seen) => {
    if (ok) return;
    assert.fail(`${what}\nexpected: ${show(expected)}\nseen:     ${show(seen)}\n${logs(...services)}`);
  };
}

/** Prints a comparison that passed. */
export function seen(what: string, value: unknown): void {
  console.log(`  ${what}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
}
