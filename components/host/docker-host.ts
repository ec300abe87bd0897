// The Docker host the platform runs on: the engine connection, the two networks, and the
// project's images built on that engine from images/.
import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { gatewayOf } from "../../config/network";
import { contextHash } from "./image-hash";

export const DOCKER_HOST_TYPE = "mail-platform:host:DockerHost";
export const IMAGES_DIR = path.resolve(__dirname, "..", "..", "images");

export interface DockerHostArgs {
  /** `unix:///var/run/docker.sock` or `ssh://user@host`. */
  dockerHost: string;
  /** Prefix of the networks' and images' names. */
  instanceName: string;
  /** Subnet of the internal network. */
  internalSubnet: string;
  /** Subnet of the edge network. */
  edgeSubnet: string;
  /** Image every project image is built FROM, passed as the BASE_IMAGE build argument. */
  baseImage: string;
  /** Folders under images/ to build, one per service. */
  images: string[];
}

export class DockerHost extends pulumi.ComponentResource {
  /** The engine connection every other resource uses. */
  public readonly provider: docker.Provider;
  /** Service-to-service network with no route out (the seed's intranet-net). */
  public readonly internalNetwork: docker.Network;
  /** Network that carries published ports and outbound traffic. */
  public readonly edgeNetwork: docker.Network;
  /** Image id per folder name under images/. */
  public readonly images: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: DockerHostArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(DOCKER_HOST_TYPE, name, {}, opts);
    this.provider = new docker.Provider(`${name}-engine`, { host: args.dockerHost }, { parent: this });
    const child = { parent: this, provider: this.provider };

    // The gateways are set, not left to Docker, because the relay rules exclude them by address.
    // internal: Docker adds no gateway route, so a container that is only here cannot reach or be
    // reached from outside the host, whatever happens to the firewall.
    // Delete before replace: the names are fixed, so a changed subnet could not create the new
    // network beside the old one. The engine then re-creates the containers on it first.
    const network = { ...child, deleteBeforeReplace: true };
    this.internalNetwork = new docker.Network(
      `${name}-internal`,
      { name: `${args.instanceName}-internal`, driver: "bridge", internal: true, ipamConfigs: [{ subnet: args.internalSubnet, gateway: gatewayOf(args.internalSubnet) }] },
      network,
    );
    this.edgeNetwork = new docker.Network(
      `${name}-edge`,
      { name: `${args.instanceName}-edge`, driver: "bridge", ipamConfigs: [{ subnet: args.edgeSubnet, gateway: gatewayOf(args.edgeSubnet) }] },
      network,
    );

    // The provider rebuilds an image only when its name or build inputs change, so the tag names
    // both the build context's content and the base image's id: a refreshed base image
    // (scripts/base-image.sh --refresh, with Debian's security updates) rebuilds every image.
    const base = docker.getRemoteImageOutput({ name: args.baseImage }, { parent: this, provider: this.provider });
    this.images = {};
    for (const service of args.images) {
      const image = new docker.RemoteImage(
        `${name}-image-${service}`,
        {
          name: base.id.apply((baseId) => `${args.instanceName}/${service}:${contextHash(path.join(IMAGES_DIR, service), baseId)}`),
          keepLocally: true,
          build: {
            // Relative to the project (the provider runs in its directory): an absolute path
            // would rebuild every image when another checkout deploys the same stack.
            context: path.posix.join("images", service),
            dockerfile: "Dockerfile",
            buildArgs: { BASE_IMAGE: args.baseImage },
            // The provider's one build path that needs no buildx on the deploying machine; it
            // still builds with the engine's BuildKit, which the containerd image store breaks
            // (kreuzwerker/terraform-provider-docker#534; scripts/deploy-dev.sh checks for it).
            useLegacyBuilder: true,
            labels: { "mail-platform.service": service },
          },
        },
        child,
      );
      this.images[service] = image.imageId;
    }

    this.registerOutputs({ internalNetwork: this.internalNetwork.name, edgeNetwork: this.edgeNetwork.name, images: this.images });
  }
}
