#!/usr/bin/env python3
# A client on the simulated Internet (test/e2e/bans.test.ts runs it in a container with an
# address of its own): logs in to the platform's containers' edge addresses with Python's own
# SMTP, IMAP and HTTPS clients, one attempt per call, and prints what the server said.
#
#   login-client reach IP PORT                  -> open | refused | timeout
#   login-client smtp IP USER PASSWORD [PORT]   -> the reply code to one AUTH PLAIN (port 465)
#   login-client banner IP PORT                 -> the SMTP greeting's reply code (220, or 421 over a limit)
#   login-client imap IP USER PASSWORD          -> OK | NO (IMAPS, port 993)
#   login-client webmail HOST USER PASSWORD     -> the HTTP status of Roundcube's login POST
#   login-client subject IP USER PASSWORD TEXT  -> found | missing (INBOX, by subject)
# A refused or timed-out connection prints refused or timeout whatever the command.
import http.cookiejar
import imaplib
import re
import smtplib
import socket
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

TLS = ssl._create_unverified_context()  # the stack's own CA; what is tested is the login
# Named, so smtplib does not look its own name up (a client in a namespace of its own has no DNS).
HELO = "client.remote.test"
# Dovecot holds a failing client up to 15 s (its auth penalty), and Roundcube waits for Dovecot.
TIMEOUT = 30


def reach(ip, port):
    socket.create_connection((ip, int(port)), timeout=TIMEOUT).close()
    return "open"


def smtp(ip, user, password, port="465"):
    s = smtplib.SMTP_SSL(ip, int(port), local_hostname=HELO, context=TLS, timeout=TIMEOUT)
    try:
        s.ehlo()
        s.user, s.password = user, password
        # One mechanism: smtplib's login() would try the next on a failure, two failures a call.
        try:
            code, _ = s.auth("PLAIN", s.auth_plain)
        except smtplib.SMTPAuthenticationError as e:
            code = e.smtp_code
        return str(code)
    finally:
        s.close()


def banner(ip, port):
    s = smtplib.SMTP(local_hostname=HELO, timeout=TIMEOUT)
    try:
        code, _ = s.connect(ip, int(port))
    except smtplib.SMTPConnectError as e:
        code = e.smtp_code
    finally:
        s.close()
    return str(code)


def imap(ip, user, password):
    m = imaplib.IMAP4_SSL(ip, 993, ssl_context=TLS, timeout=TIMEOUT)
    try:
        m.login(user, password)
        m.logout()
        return "OK"
    except imaplib.IMAP4.error:
        return "NO"


def subject(ip, user, password, text):
    m = imaplib.IMAP4_SSL(ip, 993, ssl_context=TLS, timeout=TIMEOUT)
    m.login(user, password)
    m.select("INBOX", readonly=True)
    _, data = m.search(None, "SUBJECT", '"%s"' % text)
    m.logout()
    return "found" if data and data[0].split() else "missing"


def webmail(host, user, password):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=TLS), urllib.request.HTTPCookieProcessor(jar))

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener.add_handler(NoRedirect())
    page = opener.open("https://%s/" % host, timeout=TIMEOUT).read().decode(errors="replace")
    token = re.search(r'name="_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"_token": token, "_task": "login", "_action": "login", "_timezone": "UTC", "_url": "", "_user": user, "_pass": password}
    ).encode()
    try:
        return str(opener.open("https://%s/?_task=login" % host, data=form, timeout=TIMEOUT).status)
    except urllib.error.HTTPError as e:
        return str(e.code)


COMMANDS = {"reach": reach, "banner": banner, "smtp": smtp, "imap": imap, "webmail": webmail, "subject": subject}

if __name__ == "__main__":
    try:
        print(COMMANDS[sys.argv[1]](*sys.argv[2:]))
    except ConnectionRefusedError:
        print("refused")
    except (socket.timeout, TimeoutError):
        print("timeout")
    except urllib.error.URLError as e:
        print("refused" if isinstance(e.reason, ConnectionRefusedError) else "timeout" if isinstance(e.reason, (socket.timeout, TimeoutError)) else "error %s" % e.reason)
