"""A local SMTP server for ldh's alert email tests, on Debian's python3-aiosmtpd.

Accepts mail on 127.0.0.1 and appends each message to --log as one JSON line: {"from", "to",
"subject", "body" (the decoded text), "headers", "tls" (whether STARTTLS was used), "login",
"received" (Unix time in seconds)}.

  --fail-code 451 --fail-count 2   answer DATA with 451 the first 2 times (-1: always); a 5xx
                                   code refuses for good
  --delay 2.0                      wait before answering DATA
  --certificate C --key K          offer STARTTLS (and require it)
  --username U --password P        require AUTH LOGIN/PLAIN with these (TLS not needed)

Prints "PORT <n>" once listening.
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import signal
import socket
import ssl
import sys
import threading
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, arguments):
        self.arguments = arguments
        self.failures_left = arguments.fail_count
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        arguments = self.arguments
        if arguments.delay > 0:
            await asyncio.sleep(arguments.delay)
        with self.lock:
            if arguments.fail_code and self.failures_left != 0:
                if self.failures_left > 0:
                    self.failures_left -= 1
                return "%d injected failure" % arguments.fail_code
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        entry = {
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "subject": str(message["Subject"] or ""),
            "body": body.get_content() if body is not None else "",
            "headers": {key: str(value) for key, value in message.items()},
            "tls": session.ssl is not None,
            "login": session.auth_data,
            "received": time.time(),
        }
        with self.lock, open(arguments.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
        return "250 OK"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--fail-code", type=int, default=0)
    parser.add_argument("--fail-count", type=int, default=-1)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--certificate", default=None)
    parser.add_argument("--key", default=None)
    parser.add_argument("--username", default=None)
    parser.add_argument("--password", default=None)
    arguments = parser.parse_args()
    # Logging in without TLS is what the test asks for; the warning about it is noise.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    options = {}
    if arguments.certificate:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(arguments.certificate, arguments.key)
        options.update(tls_context=context, require_starttls=True)
    if arguments.username:
        def authenticate(server, session, envelope, mechanism, data):
            good = (isinstance(data, LoginPassword)
                    and data.login.decode() == arguments.username
                    and data.password.decode() == arguments.password)
            return AuthResult(success=good, handled=False, auth_data=data.login.decode())
        options.update(authenticator=authenticate, auth_required=True, auth_require_tls=False)

    port = arguments.port or free_port()
    controller = Controller(Recorder(arguments), hostname="127.0.0.1", port=port,
                            ready_timeout=10, **options)
    controller.start()
    print("PORT %d" % port, flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    sys.exit(main())
