// mailauth 4.x (the last line that runs on Node 20) ships no types for its entry point; this
// declares the one call the e2e tests make.
declare module "mailauth" {
  interface Status {
    status: { result: string };
  }
  export function authenticate(
    message: Buffer | string,
    options: { ip: string; helo: string; sender: string; mta: string; resolver?: (name: string, rrtype: string) => Promise<unknown> },
  ): Promise<{ dkim?: { results?: Status[] }; spf?: Status | false; dmarc?: Status | false }>;
}
