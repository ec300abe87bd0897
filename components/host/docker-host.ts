// The Docker host the platform runs on: the engine connection, the two networks, and the
// project's images, each built on that engine from images/ when a component first asks for it.
import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { gatewayOf } from "../../config/network";
import { PlatformNetworks } from "../types";
import { contextHash } from "./image-hash";

const DOCKER_HOST_TYPE = "mail-platform:host:DockerHost";
export const IMAGES_DIR = path.resolve(__dirname, "..", "..", "images");
/** Scripts every image may copy (the job wrapper, the certificate watcher): images/ is each build's context, so they exist once. */
export const SHARED_IMAGE_DIR = "lib";

/** The folders under images/, one per project image (test/unit/docker-host.test.ts keeps the list and the folders in step). */
export const PROJECT_IMAGES = [
  "acme",
  "amavis",
  "backup",
  "bans",
  "clamav",
  "dovecot",
  "mariadb",
  "monitoring",
  "postfix",
  "postfixadmin",
  "proxy",
  "sa-update",
  "spamd",
  "webmail",
] as const;
export type ProjectImage = (typeof PROJECT_IMAGES)[number];

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
}

export class DockerHost extends pulumi.ComponentResource {
  /** The engine connection every other resource uses. */
  public readonly provider: docker.Provider;
  /** The internal network (service to service, no route out) and the edge network (published ports, outbound traffic). */
  public readonly networks: PlatformNetworks;
  private readonly name: string;
  private readonly args: DockerHostArgs;
  private readonly baseImageId: pulumi.Output<string>;
  private readonly built = new Map<ProjectImage, pulumi.Output<string>>();

  constructor(name: string, args: DockerHostArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(DOCKER_HOST_TYPE, name, {}, opts);
    this.name = name;
    this.args = args;
    this.provider = new docker.Provider(`${name}-engine`, { host: args.dockerHost }, { parent: this });
    const child = { parent: this, provider: this.provider };

    // The gateways are set, not left to Docker, because the relay rules exclude them by address.
    // internal: Docker adds no gateway route, so a container that is only here cannot reach or be
    // reached from outside the host, whatever happens to the firewall.
    // Delete before replace: the names are fixed, so a changed subnet could not create the new
    // network beside the old one. The engine then re-creates the containers on it first.
    const network = { ...child, deleteBeforeReplace: true };
    const internal = new docker.Network(
      `${name}-internal`,
      {
        name: `${args.instanceName}-internal`,
        driver: "bridge",
        internal: true,
        ipamConfigs: [{ subnet: args.internalSubnet, gateway: gatewayOf(args.internalSubnet) }],
      },
      network,
    );
    const edge = new docker.Network(
      `${name}-edge`,
      {
        name: `${args.instanceName}-edge`,
        driver: "bridge",
        ipamConfigs: [{ subnet: args.edgeSubnet, gateway: gatewayOf(args.edgeSubnet) }],
      },
      network,
    );
    this.networks = { internal: { name: internal.name }, edge: { name: edge.name } };

    // The provider rebuilds an image only when its name or build inputs change, so the tag names
    // both the build context's content and the base image's id: a refreshed base image
    // (scripts/base-image.sh --refresh, with Debian's security updates) rebuilds every image.
    this.baseImageId = docker.getRemoteImageOutput({ name: args.baseImage }, child).id;

    this.registerOutputs({ internalNetwork: internal.name, edgeNetwork: edge.name });
  }

  /**
   * The id of the image built from images/<service>. Built on the first request, so a stack
   * builds only the images of the components it has (the webmail's alone takes a minute and a half).
   */
  public image(service: ProjectImage): pulumi.Output<string> {
    const known = this.built.get(service);
    if (known) return known;
    const { instanceName, baseImage } = this.args;
    const image = new docker.RemoteImage(
      `${this.name}-image-${service}`,
      {
        name: this.baseImageId.apply(
          (baseId) => `${instanceName}/${service}:${contextHash(IMAGES_DIR, [service, SHARED_IMAGE_DIR], baseId)}`,
        ),
        keepLocally: true,
        build: {
          // Relative to the project (the provider runs in its directory): an absolute path
          // would rebuild every image when another checkout deploys the same stack.
          // images/, not images/<service>: every image copies the shared scripts from images/lib.
          context: "images",
          dockerfile: path.posix.join(service, "Dockerfile"),
          buildArgs: { BASE_IMAGE: baseImage },
          // The provider's one build path that needs no buildx on the deploying machine; it
          // still builds with the engine's BuildKit, which the containerd image store breaks
          // (kreuzwerker/terraform-provider-docker#534; scripts/deploy-dev.sh checks for it).
          useLegacyBuilder: true,
          labels: { "mail-platform.service": service },
        },
      },
      { parent: this, provider: this.provider },
    );
    this.built.set(service, image.imageId);
    return image.imageId;
  }
}
