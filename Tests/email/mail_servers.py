"""Real mail servers on 127.0.0.1 for the email suite, started and stopped by the tests:

- `TestCA`: a throwaway certificate authority (cryptography) and a server certificate for
  127.0.0.1 / localhost; the gateway trusts it through `caFile`, nothing else does;
- `SMTPServer`: aiosmtpd with AUTH PLAIN/LOGIN and STARTTLS required (or implicit TLS), which
  records every message it accepts (envelope and exact bytes) and refuses recipients named
  `nobody…` with a 550 reply;
- `Dovecot`: Debian's dovecot-imapd with its own configuration under a temporary directory
  (passwd-file users, maildir), IMAP with STARTTLS and IMAPS, run in the foreground (`-F`).

Everything listens on free loopback ports and is bounded in time.
"""

from __future__ import annotations

import datetime as dt
import imaplib
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from gateway_process import free_port, terminate  # noqa: E402

START_TIMEOUT = 15


# ---------------------------------------------------------------------------------------------
# Certificates


class TestCA:
    """A CA and one server certificate (SAN: IP 127.0.0.1, DNS localhost), as PEM files."""

    __test__ = False  # not a pytest class

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ChannelGateway email tests CA")])
        ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
                   .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        self.ca_file = directory / "ca.pem"
        self.cert_file = directory / "server.pem"
        self.key_file = directory / "server.key"
        self.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


# ---------------------------------------------------------------------------------------------
# SMTP


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None


@dataclass
class _Handler:
    messages: list[ReceivedMail] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    mechanisms: list[str] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        if address.lower().startswith("nobody"):
            with self.lock:
                self.refused.append(address)
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        login = session.auth_data if isinstance(session.auth_data, str) else None
        with self.lock:
            self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content),
                                              login))
            self.lock.notify_all()
        return "250 2.0.0 OK: queued"


class SMTPServer:
    """aiosmtpd on 127.0.0.1: `mode` "starttls" (STARTTLS required before AUTH) or "implicit"."""

    def __init__(self, ca: TestCA, mode: str, users: dict[str, str]):
        self.mode = mode
        self.users = users
        self.handler = _Handler()
        self.port = free_port()
        context = ca.server_context()

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and self.users.get(auth_data.login.decode()) == auth_data.password.decode())
            if ok:
                with self.handler.lock:
                    self.handler.mechanisms.append(mechanism)
            return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)

        options = dict(authenticator=authenticate, auth_required=True, hostname="127.0.0.1", port=self.port,
                       server_hostname="mail.test", ready_timeout=START_TIMEOUT)
        if mode == "starttls":
            self.controller = Controller(self.handler, tls_context=context, require_starttls=True, **options)
        else:
            # Implicit TLS: the whole session is TLS, so AUTH needs no STARTTLS.
            self.controller = Controller(self.handler, ssl_context=context, auth_require_tls=False, **options)

    def start(self) -> "SMTPServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[ReceivedMail]:
        with self.handler.lock:
            return list(self.handler.messages)

    def wait_messages(self, count: int, timeout: float = 10) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        with self.handler.lock:
            while len(self.handler.messages) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"SMTP server got {len(self.handler.messages)} messages, expected {count}"
                self.handler.lock.wait(remaining)
            return list(self.handler.messages)

    def config(self, user: str, ca: TestCA | None, **extra) -> dict:
        server = {"host": "127.0.0.1", "port": self.port, "tls": self.mode, "username": user,
                  "password": self.users[user]}
        if ca is not None:
            server["caFile"] = str(ca.ca_file)
        server.update(extra)
        return server


# ---------------------------------------------------------------------------------------------
# IMAP


DOVECOT_CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{base}/mail/%u
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={base}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service auth {{
  user = root
}}
protocol imap {{
  imap_idle_notify_interval = 2 mins
}}
"""


def dovecot_binary() -> str:
    path = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.access(path, os.X_OK):
        raise RuntimeError("dovecot not found: install dovecot-imapd (scripts/bootstrap.sh does)")
    return path


class Dovecot:
    """`dovecot -F -c <dir>/dovecot.conf` with users from a passwd-file and maildirs under `dir`."""

    def __init__(self, ca: TestCA, users: dict[str, str]):
        # Not under pytest's 0700 temporary tree: dovecot's unprivileged processes (dovecot,
        # dovenull) must reach their sockets under base_dir.
        self.dir = Path(tempfile.mkdtemp(prefix="gateway-dovecot-"))
        self.dir.chmod(0o755)
        self.ca = ca
        self.users = users
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.pool: list[str] = []

    def start(self) -> "Dovecot":
        for sub in ("run", "state", "mail", "home"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("mail", "home"):  # the mail processes run as the dovecot user
            shutil.chown(self.dir / sub, "dovecot", "dovecot")
        self._write_passwd()
        conf = self.dir / "dovecot.conf"
        conf.write_text(DOVECOT_CONF.format(base=self.dir, cert=self.ca.cert_file, key=self.ca.key_file,
                                            imap_port=self.imap_port, imaps_port=self.imaps_port))
        self.proc = subprocess.Popen([dovecot_binary(), "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "dovecot.stderr", "ab"), stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.imap_port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on {self.imap_port} within {START_TIMEOUT} s: {self.log_tail()}")

    def _write_passwd(self) -> None:
        path = self.dir / "passwd"
        path.write_text("".join(f"{user}:{{PLAIN}}{password}::::::\n" for user, password in self.users.items()))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # dovecot -F stops its children on SIGTERM.
            terminate(self.proc, 10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        text = ""
        for name in ("dovecot.log", "dovecot.stderr"):
            try:
                text += (self.dir / name).read_text(errors="replace")
            except FileNotFoundError:
                pass
        return "\n".join(text.splitlines()[-lines:])

    def client(self, user: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        imap.starttls(ssl_context=self.ca.client_context())
        imap.login(user, self.users[user])
        return imap

    def append(self, user: str, raw: bytes, mailbox: str = "INBOX") -> None:
        imap = self.client(user)
        try:
            typ, data = imap.append(mailbox, None, None, raw)
            assert typ == "OK", (typ, data)
        finally:
            imap.logout()

    def config(self, user: str, mode: str, ca: TestCA | None, **extra) -> dict:
        port = self.imaps_port if mode == "implicit" else self.imap_port
        server = {"host": "127.0.0.1", "port": port, "tls": mode, "username": user, "password": self.users[user]}
        if ca is not None:
            server["caFile"] = str(ca.ca_file)
        server.update(extra)
        return server
