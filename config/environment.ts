// The Docker provider reads some settings from the deploying shell's environment, and they win
// over the stack's `dockerHost` (kreuzwerker/terraform-provider-docker internal/provider/provider.go:
// `context` defaults from DOCKER_CONTEXT and overrides `host`; config.go: any certificate setting
// makes it dial TLS, skipping the ssh:// connection). A deployer whose shell has one set would
// deploy somewhere else than the stack says, or fail oddly; the program refuses instead.
import { ConfigProblem } from "./validate";

const OVERRIDING = {
  DOCKER_CONTEXT: "the provider uses that Docker context instead of dockerHost",
  DOCKER_CERT_PATH: "the provider then dials TLS with those certificates, not unix:// or ssh:// as dockerHost says",
  DOCKER_CA_MATERIAL: "the provider then dials TLS, not unix:// or ssh:// as dockerHost says",
  DOCKER_CERT_MATERIAL: "the provider then dials TLS, not unix:// or ssh:// as dockerHost says",
  DOCKER_KEY_MATERIAL: "the provider then dials TLS, not unix:// or ssh:// as dockerHost says",
};

export function environmentProblems(env: NodeJS.ProcessEnv): ConfigProblem[] {
  return Object.entries(OVERRIDING)
    .filter(([name]) => env[name])
    .map(([name, why]) => ({
      key: `environment variable ${name}`,
      found: `set (${why})`,
      expected: `unset when deploying (\`unset ${name}\`); the stack's dockerHost names the engine`,
    }));
}
