// What the providers would answer under Pulumi's mocks, per resource type and per data source:
// the one source of mock outputs, for whole-program runs (run-program.ts) and for the component
// unit tests (test/support/mocks.ts) alike. Key, certificate and password values come from
// material.ts, masked stand-ins or real material.
import * as material from "./material";
import type { PropertyMap } from "./property-map";

/** What a provider would return for a resource, beyond its inputs: ids, digests, keys. */
export function outputsFor(mode: material.SecretsMode, type: string, name: string, inputs: PropertyMap): PropertyMap {
  switch (type) {
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: material.imageId(`image ${inputs.name}`) };
    case "docker:index/container:Container":
      // A one-shot (attached) container has finished by the time the provider returns.
      return inputs.attach ? { exitCode: 0, containerLogs: "" } : {};
    case "random:index/randomPassword:RandomPassword":
      return material.randomPassword(mode, name, inputs);
    case "tls:index/privateKey:PrivateKey":
      return material.privateKey(mode, name, inputs);
    case "tls:index/certRequest:CertRequest":
      return material.certRequest(mode, name, inputs);
    case "tls:index/selfSignedCert:SelfSignedCert":
      return material.selfSignedCert(mode, name, inputs);
    case "tls:index/locallySignedCert:LocallySignedCert":
      return material.locallySignedCert(mode, name, inputs);
    default:
      return {};
  }
}

/** What a data source (invoke) would answer. */
export function invokeResult(token: string, inputs: PropertyMap): PropertyMap {
  switch (token) {
    case "docker:index/getRemoteImage:getRemoteImage":
      return { id: material.imageId(`image ${inputs.name}`), name: inputs.name, repoDigest: "" };
    default:
      throw new Error(`the mock run does not know the data source ${token}`);
  }
}
