"""Ready when port 25 greets with 220 and EHLO offers STARTTLS."""
import smtplib
import sys

try:
    with smtplib.SMTP("127.0.0.1", 25, local_hostname="healthcheck.invalid", timeout=3) as s:
        s.ehlo()
        if not s.has_extn("starttls"):
            sys.exit("EHLO does not offer STARTTLS")
except (OSError, smtplib.SMTPException) as e:
    sys.exit(f"not ready: {e}")
