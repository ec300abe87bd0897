"""Another company's MX, simulated: an SMTP server (aiosmtpd) on port 25 that accepts mail for its
own domains only and stores each message byte-exact, with what SPF/DKIM/DMARC checks need: the
envelope (MAIL FROM, RCPT TO), the connecting client's IP and the HELO/EHLO name it gave.

Each message becomes one JSON file in SPOOL_DIR, written to a temporary name and renamed into place
so a reader never sees a half-written file. Names sort in arrival order.

Environment: REMOTE_DOMAINS (comma-separated, required), MX_HOSTNAME (banner name; defaults to the
container's FQDN), TLS_CERT / TLS_KEY (STARTTLS is offered when both exist).
"""

import asyncio
import base64
import itertools
import json
import os
import signal
import socket
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP

SPOOL_DIR = os.environ.get("SPOOL_DIR", "/var/spool/remote-mx")


def log(msg: str) -> None:
    print(f"remote-mx: {msg}", flush=True)


class LenientSMTP(SMTP):
    # RFC 5321 caps a line at 1000 octets and aiosmtpd enforces it ("500 Line too long"), but real
    # MXes such as Postfix accept longer lines unchanged; a test should see such a message, not a
    # bounce. Long lines are logged instead (see handle_DATA).
    line_length_limit = 65536


class Handler:
    def __init__(self, domains: set[str]) -> None:
        self.domains = domains
        self.seq = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A test switch: while this file exists the server is "temporarily unavailable", the way
        # a real MX answers during maintenance, without dropping connections.
        if os.path.exists("/run/remote-mx/refuse"):
            log(f"temporarily refuse RCPT <{address}> from {session.peer[0]} (refuse switch on)")
            return "451 4.3.2 Service temporarily unavailable"
        domain = address.rpartition("@")[2].lower()
        if domain not in self.domains:
            # Not ours: refuse like a real MX that is not an open relay.
            log(f"reject RCPT <{address}> from {session.peer[0]} (not one of {sorted(self.domains)})")
            return "554 5.7.1 <%s>: Relay access denied" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.seq)
        ssl_object = (session.ssl or {}).get("ssl_object")
        record = {
            "mailFrom": envelope.mail_from,
            "rcptTo": list(envelope.rcpt_tos),
            "clientIp": session.peer[0],
            "helo": session.host_name or "",
            "tls": ssl_object.version() if ssl_object is not None else None,
            "receivedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            # Base64 so the stored message is the exact octets received (after dot-unstuffing).
            "rawBase64": base64.b64encode(envelope.original_content).decode("ascii"),
        }
        longest = max((len(line) for line in envelope.original_content.split(b"\r\n")), default=0)
        if longest > 998:
            log(f"message {n} has a {longest}-octet line (RFC 5321 allows 998 plus CRLF)")
        name = f"{time.time_ns():020d}-{n:06d}.json"
        tmp = os.path.join(SPOOL_DIR, "." + name + ".tmp")
        with open(tmp, "w", encoding="ascii") as f:
            json.dump(record, f)
            f.write("\n")
        os.rename(tmp, os.path.join(SPOOL_DIR, name))
        log(
            f"stored {name}: from=<{envelope.mail_from}> to={envelope.rcpt_tos} client={session.peer[0]} "
            f"helo={session.host_name} tls={record['tls']} size={len(envelope.original_content)}"
        )
        return f"250 2.0.0 Ok: queued as {n}"


def tls_context() -> ssl.SSLContext | None:
    cert, key = os.environ.get("TLS_CERT", ""), os.environ.get("TLS_KEY", "")
    if not (cert and key and os.path.exists(cert) and os.path.exists(key)):
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


async def main() -> None:
    domains = {d.strip().lower() for d in os.environ.get("REMOTE_DOMAINS", "").split(",") if d.strip()}
    if not domains:
        sys.exit("remote-mx: REMOTE_DOMAINS is empty; set it to the domains this MX accepts mail for")
    os.makedirs(SPOOL_DIR, exist_ok=True)
    hostname = os.environ.get("MX_HOSTNAME") or socket.getfqdn()
    handler = Handler(domains)
    ctx = tls_context()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: LenientSMTP(
            handler,
            hostname=hostname,
            ident="remote-mx (aiosmtpd)",
            tls_context=ctx,
            enable_SMTPUTF8=True,
            decode_data=False,
            data_size_limit=64 * 1024 * 1024,
        ),
        host="0.0.0.0",
        port=25,
    )
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    log(f"listening on 0.0.0.0:25 as {hostname} for {sorted(domains)}, STARTTLS {'on' if ctx else 'off'}")
    await stop
    server.close()
    log("stopped")


if __name__ == "__main__":
    asyncio.run(main())
