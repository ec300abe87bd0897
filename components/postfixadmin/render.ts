// Pure renderer of PostfixAdmin's web UI files: plain values in, container path -> file content
// out. config.local.php (database, password scheme) is not rendered here: the Database component
// renders it for the provisioning run and hands the same file to the UI, which adds its Apache site
// and PHP settings.
import { platformPeers } from "../../config/network";
import { PlatformConfig } from "../../config/platform";
import { containerPath, renderTemplate, RenderedFiles, TemplateValues, templatesOf } from "../../render/template";
import { DESIRED_STATE_PATH, POSTFIXADMIN_CONFIG_TEMPLATE } from "../database/render";

export const POSTFIXADMIN_SITE_TEMPLATE = "postfixadmin/etc/apache2/sites-enabled/postfixadmin.conf";
export const POSTFIXADMIN_PHP_TEMPLATE = "postfixadmin/etc/php/8.4/apache2/conf.d/90-mail-platform.ini";
/** Holds the database password: uploaded root-only, handed to www-data (0640) by the image's entrypoint. */
export const POSTFIXADMIN_CONFIG_FILE = containerPath(POSTFIXADMIN_CONFIG_TEMPLATE);
/** Seconds an idle admin session is kept before PHP may discard it. */
export const SESSION_LIFETIME_SECONDS = 3600;

export interface PostfixadminUiRenderInput {
  platform: PlatformConfig;
  /** Database.postfixadminConfig: exactly /etc/postfixadmin/config.local.php. Secret. */
  config: RenderedFiles;
}

export class PostfixadminUiRenderError extends Error {}

/** The UI's own templates: every PostfixAdmin template outside etc/postfixadmin/, which the Database renders. */
export function uiTemplates(): string[] {
  return templatesOf("postfixadmin").filter((t) => !t.startsWith("postfixadmin/etc/postfixadmin/"));
}

export function renderPostfixadminUiFiles(input: PostfixadminUiRenderInput): RenderedFiles {
  const { platform, config } = input;
  if (config[POSTFIXADMIN_CONFIG_FILE] === undefined) {
    throw new PostfixadminUiRenderError(`config: expected ${POSTFIXADMIN_CONFIG_FILE} (Database.postfixadminConfig), got ${Object.keys(config).join(", ") || "nothing"}`);
  }
  // The desired state carries every initial password; the UI has no use for it.
  if (config[DESIRED_STATE_PATH] !== undefined) {
    throw new PostfixadminUiRenderError(`config: ${DESIRED_STATE_PATH} is for the provisioning run only; pass Database.postfixadminConfig`);
  }
  const values: Record<string, TemplateValues> = {
    [POSTFIXADMIN_SITE_TEMPLATE]: {
      serverName: platform.webHostnames.admin,
      trustedProxies: platformPeers(platform.internalSubnet).join(" "),
    },
    [POSTFIXADMIN_PHP_TEMPLATE]: {
      sessionLifetimeSeconds: SESSION_LIFETIME_SECONDS,
    },
  };
  const files: RenderedFiles = { ...config };
  for (const template of uiTemplates()) files[containerPath(template)] = renderTemplate(template, values[template] ?? {});
  return files;
}
