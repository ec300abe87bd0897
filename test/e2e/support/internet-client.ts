// An SMTP client on the simulated Internet: a throwaway container with its own address on the
// edge network, talking to Postfix's edge address directly, as another company's server would.
import { INTERNET, INTERNET_CLIENT_IP, internet } from "./platform";
import { runOnNetwork } from "../internet/internet";

export interface SmtpStep {
  command: "ehlo" | "starttls" | "mail" | "rcpt" | "data";
  arg?: string;
}

export interface SmtpReply {
  command: string;
  arg?: string;
  code: number;
  text: string;
}

/** Runs the steps in order over one connection and returns every reply; stops at the first refusal of MAIL or DATA. */
export function smtpFromInternet(targetIp: string, steps: SmtpStep[]): SmtpReply[] {
  const net = internet();
  const script = [
    "import base64, json, os, smtplib, ssl",
    "steps = json.loads(base64.b64decode(os.environ['STEPS']))",
    `s = smtplib.SMTP("${targetIp}", 25, local_hostname="mx.remote.test", timeout=30)`,
    "out = []",
    "for st in steps:",
    "    c, a = st['command'], st.get('arg')",
    "    if c == 'ehlo': code, msg = s.ehlo()",
    "    elif c == 'starttls': code, msg = s.starttls(context=ssl._create_unverified_context())",
    "    elif c == 'mail': code, msg = s.mail(a)",
    "    elif c == 'rcpt': code, msg = s.rcpt(a)",
    "    elif c == 'data': code, msg = s.data(base64.b64decode(a))",
    "    out.append({'command': c, 'arg': a, 'code': code, 'text': msg.decode(errors='replace')})",
    "    if c in ('mail', 'data') and code >= 400: break",
    "try: s.quit()",
    "except Exception: pass",
    "print(json.dumps(out))",
  ].join("\n");
  const stepsB64 = Buffer.from(
    JSON.stringify(steps.map((s) => (s.command === "data" ? { ...s, arg: Buffer.from(s.arg ?? "").toString("base64") } : s))),
  ).toString("base64");
  const r = runOnNetwork(INTERNET.network, net.images.mx, [`STEPS=${stepsB64}`, "python3", "-c", script], {
    ip: INTERNET_CLIENT_IP,
    dnsIp: INTERNET.dnsIp,
    entrypoint: "env",
  });
  if (r.code !== 0) throw new Error(`the Internet-side SMTP client failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as SmtpReply[];
}
