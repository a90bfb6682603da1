"""Email in the cluster (the third plugin with `resume`/`release`): an account connected through A
is watched by A only; when A is SIGKILLed another instance resumes the mailbox from the progress
A saved in the shared store, and every mail — delivered before, during and after the takeover — is
stored exactly once (counted by external id, the Message-ID). Servers: Debian's dovecot and
aiosmtpd with a throwaway CA, from Tests/email/mail_servers.py.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from cluster import TAKEOVER_BOUND, TAKEOVER_SLACK
from hub_harness import Principal, unique
from polling import eventually

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "email"))
from mail_servers import Dovecot, SMTPServer, TestCA  # noqa: E402

HOP = "X-Gateway-Forwarded-By"


@pytest.fixture(scope="module")
def mail(tmp_path_factory):
    ca = TestCA(tmp_path_factory.mktemp("mail-ca"))
    address = f"desk-{uuid.uuid4().hex[:8]}@example.test"
    password = f"pw-{uuid.uuid4().hex}"
    dovecot = Dovecot(ca, {address: password}).start()
    smtp = SMTPServer(ca, "starttls", {address: password}).start()
    yield ca, dovecot, smtp, address
    smtp.stop()
    dovecot.stop()


def raw_mail(to: str, subject: str, body: str) -> tuple[str, bytes]:
    message_id = f"{uuid.uuid4().hex}@example.com"
    headers = ["From: Erin <erin@example.com>", f"To: <{to}>", f"Subject: {subject}",
               "Date: Fri, 04 Dec 2026 09:30:00 +0100", f"Message-ID: <{message_id}>", "MIME-Version: 1.0",
               "Content-Type: text/plain; charset=utf-8"]
    return message_id, ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def test_email_account_moves_on_when_its_owner_is_killed(make_cluster, mail, gateway_bin):
    ca, dovecot, smtp, address = mail
    plugin = {"name": "email", "path": str(gateway_bin.parent / "libEmailChannel.so"),
              "config": {"idle": True, "poll_interval_seconds": 0.5, "max_backoff_seconds": 2, "timeout_seconds": 10}}
    cluster = make_cluster([plugin])
    for gateway in cluster.gateways:  # /health answers before the plugins are loaded
        eventually(lambda: "email" in str(gateway.health().get("plugins")), timeout=10, what=f"email on {gateway.name}")
    org = unique("org")
    via = {g.name: Principal(g, org) for g in cluster.gateways}
    config = {"address": address, "displayName": "Desk", "smtp": smtp.config(address, ca),
              "imap": dovecot.config(address, "starttls", ca)}
    account = via["A"].request("POST", "/api/bd-accounts/connect", {"platform": "email", "config": config},
                               expect=(200, 201, 202)).json()
    assert account["status"] == "connected", account
    account_id = account["id"]
    assert cluster.owner(account_id).name == "A"

    delivered: dict[str, str] = {}

    def deliver(phase: str, count: int) -> None:
        for n in range(count):
            message_id, raw = raw_mail(address, phase, f"{phase} {n}")
            dovecot.append(address, raw)
            delivered[message_id] = f"{phase} {n}"

    def stored(principal: Principal) -> Counter:
        messages = principal.request("GET", "/api/messaging/messages", params={
            "bdAccountId": account_id, "direction": "inbound", "limit": 200}, expect=200).json()["messages"]
        return Counter(m["externalId"] for m in messages)

    deliver("before", 3)
    eventually(lambda: len(stored(via["B"])) == 3, timeout=20, what="the first mails", last=lambda: stored(via["B"]))

    cluster.kill(cluster.by_name("A"))
    deliver("during", 3)
    new_owner = cluster.owner(account_id, other_than="A", timeout=TAKEOVER_BOUND + TAKEOVER_SLACK + 5)
    deliver("after", 3)
    survivors = cluster.survivors()
    expected = {f"<{message_id}>" for message_id in delivered} | set(delivered)

    def complete():
        found = stored(via[new_owner.name])
        return found if len(found) >= len(delivered) else None
    eventually(complete, timeout=30, what=f"all {len(delivered)} mails", last=lambda: stored(via[new_owner.name]))
    time.sleep(2)
    found = stored(via[new_owner.name])
    assert len(found) == len(delivered) and set(found) <= expected, (found, delivered)
    assert all(count == 1 for count in found.values()), found
    status = via[new_owner.name].request("GET", f"/api/bd-accounts/{account_id}/status", expect=200).json()
    assert status["status"] == "connected", status

    # Sending goes through the new owner, once.
    other = next(g for g in survivors if g is not new_owner)
    text = f"reply {uuid.uuid4().hex[:6]}"
    response = via[other.name].request("POST", "/api/messaging/send", {
        "channel": "email", "channelId": "erin@example.com", "content": text, "bdAccountId": account_id,
        "idempotencyKey": uuid.uuid4().hex}, expect=201)
    assert response.headers.get(HOP) == new_owner.name, dict(response.headers)
    def copies():
        return [m for m in smtp.messages if text in m.data.decode(errors="replace")]
    eventually(copies, timeout=10, what="the reply at the SMTP server")
    time.sleep(0.5)
    assert len(copies()) == 1
