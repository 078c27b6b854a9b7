#!/usr/bin/python3
"""A real SMTP server on loopback for Portline's mail tests (Debian's python3-aiosmtpd).

    smtp_server.py PORT OUT_DIR CERT KEY USER PASSWORD

Offers STARTTLS with CERT/KEY and requires it before AUTH; accepts AUTH PLAIN/LOGIN for
USER/PASSWORD only; writes every accepted message to OUT_DIR/<n>.eml with the envelope in
X-Envelope-From / X-Envelope-To headers. Runs until killed.
"""
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, out_dir, cert, key, user, password = sys.argv[1:7]


class Save:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Save.count += 1
        path = os.path.join(out_dir, "%d.eml" % Save.count)
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(b"X-Authenticated: " + str(session.authenticated).encode() + b"\r\n")
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 OK stored"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and \
        auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(Save(), hostname="127.0.0.1", port=int(port), tls_context=context,
                        require_starttls=True, authenticator=authenticator, auth_required=True,
                        auth_require_tls=True)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
