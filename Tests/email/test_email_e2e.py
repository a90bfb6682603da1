"""End to end through a real gateway process and its email plugin (libEmailChannel.so): REST
and the Socket.IO hub on one side; aiosmtpd (SMTP, STARTTLS or implicit TLS, AUTH) and Debian's
dovecot (IMAP with IDLE) on the other, all on 127.0.0.1, with a throwaway CA the plugin trusts
through `caFile`.

- connect validates both logins; passwords are neither echoed by the API nor stored in clear;
- send: the SMTP server receives exactly the MIME the plugin built (headers, body, threading
  headers on a reply in a chat); a refused recipient fails the message with the server's reply;
- receive: a message appended in dovecot is stored once and published on the hub, within a
  second through IDLE; after a gateway restart nothing is fetched twice and mail that arrived
  meanwhile is picked up; a UIDVALIDITY change re-reads the mailbox without duplicates;
- bad credentials, an untrusted certificate, malformed MIME: clear statuses and warnings.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import time
import uuid

import pytest

from conftest import Api, eventually, start_email_gateway
from hub_harness import event_with_text

DUPLICATE_GRACE = 1.5


def stored(api: Api, account_id: str, text: str) -> list[dict]:
    return [m for m in api.messages(account_id) if m["content"] == text]


def arrives_once(api: Api, account_id: str, text: str, timeout: float = 20) -> dict:
    eventually(lambda: stored(api, account_id, text), timeout=timeout, interval=0.05,
               what=f"message {text!r} stored for {account_id}",
               last=lambda: [(m["direction"], m["content"][:60]) for m in api.messages(account_id)])
    time.sleep(DUPLICATE_GRACE)
    found = stored(api, account_id, text)
    assert len(found) == 1, f"{text!r} stored {len(found)} times: {found}"
    return found[0]


def raw_mail(sender: str, to: str, subject: str, body: str, *, message_id: str | None = None,
             in_reply_to: str | None = None, references: list[str] | None = None, name: str = "Ann Example") -> bytes:
    headers = [f"From: {name} <{sender}>", f"To: <{to}>", f"Subject: {subject}",
               "Date: Fri, 04 Dec 2026 09:30:00 +0100", f"Message-ID: <{message_id or uuid.uuid4().hex + '@example.com'}>",
               "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    if in_reply_to:
        headers.append(f"In-Reply-To: <{in_reply_to}>")
    if references:
        headers.append("References: " + " ".join(f"<{r}>" for r in references))
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def header_lines(data: bytes) -> dict[str, str]:
    """The raw header block as name → unfolded value, in order (exactly what was sent, no normalizing)."""
    block = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    fields: dict[str, str] = {}
    for line in block.replace("\r\n ", " ").split("\r\n"):
        name, _, value = line.partition(": ")
        assert name not in fields, f"header {name} twice"
        fields[name] = value
    return fields


def connected_account(api: Api, config: dict) -> dict:
    account = api.connect(config)
    assert account["status"] == "connected", account
    assert account["platform"] == "email" and account["isConnected"] is True, account
    return account


def test_connect_send_and_receive(email_gateway, mail_user, mail_smtp, email_hub):
    api = Api(email_gateway)
    desk = mail_user("desk")
    observer = email_hub(email_gateway, api)
    account = connected_account(api, desk.config())
    assert desk.address in (account.get("displayName") or ""), account
    # The password is not echoed anywhere the API shows the account.
    assert desk.password not in str(api.account(account["id"])) and desk.password not in str(api.accounts())

    # Send to a new address: a new thread, exactly this MIME at the server.
    before = len(mail_smtp.messages)
    sent_at = time.time()
    sent = api.send(account["id"], "ann@example.com", "Hello Ann,\nwelcome aboard — ünïcødé ✓")
    assert sent["status"] == "sent" and sent["externalId"].endswith("@example.test"), sent
    mail = mail_smtp.wait_messages(before + 1)[before]
    assert mail.mail_from == desk.address and mail.rcpt_tos == ["ann@example.com"] and mail.login == desk.address
    parsed = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert parsed["Message-ID"] == f"<{sent['externalId']}>"
    headers = header_lines(mail.data)
    assert headers["From"] == f"Support Desk <{desk.address}>" and headers["To"] == "<ann@example.com>", headers
    assert headers["Subject"] == "Hello Ann," and headers["MIME-Version"] == "1.0", headers
    assert headers["Content-Transfer-Encoding"] == "quoted-printable", headers
    assert email.utils.parsedate_to_datetime(headers["Date"]).timestamp() == pytest.approx(sent_at, abs=5), headers
    assert list(headers) == ["Date", "From", "To", "Message-ID", "Subject", "MIME-Version", "Content-Type",
                             "Content-Transfer-Encoding"], headers
    assert mail.data.split(b"\r\n\r\n", 1)[1] == (
        b"Hello Ann,\r\nwelcome aboard =E2=80=94 =C3=BCn=C3=AFc=C3=B8d=C3=A9 =E2=9C=93\r\n")
    assert parsed["In-Reply-To"] is None and parsed["References"] is None
    assert parsed.get_content_type() == "text/plain" and parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().replace("\r\n", "\n") == "Hello Ann,\nwelcome aboard — ünïcødé ✓\n"
    assert b"\r\n" in mail.data and all(len(line) <= 998 for line in mail.data.split(b"\r\n"))

    # Ann answers (threaded under our message): one stored message, one hub event, same chat.
    ann_id = f"{uuid.uuid4().hex}@example.com"
    desk.append(raw_mail("ann@example.com", desk.address, "Re: Hello Ann,", "Thanks! — Ann", message_id=ann_id,
                         in_reply_to=sent["externalId"], references=[sent["externalId"]]))
    received = arrives_once(api, account["id"], "Thanks! — Ann")
    assert received["direction"] == "inbound" and received["chatId"] == "ann@example.com", received
    assert received["externalId"] == ann_id and received["channel"] == "email", received
    metadata = received.get("metadata") or {}
    assert metadata.get("subject") == "Re: Hello Ann," and metadata.get("inReplyTo") == [sent["externalId"]], metadata
    assert metadata.get("from") == [{"address": "ann@example.com", "name": "Ann Example"}], metadata
    assert (received.get("contact") or {}).get("name") == "Ann Example", received
    observer.wait_for(event_with_text("Thanks! — Ann"), timeout=10, what="MESSAGE_RECEIVED for Ann's answer")
    assert len(observer.system_events(lambda e: (e.get("data") or {}).get("content") == "Thanks! — Ann")) == 1

    # Reply in the chat: threading headers name Ann's message and the thread's root.
    reply = api.send(account["id"], "ann@example.com", "Glad to hear it.")
    mail = mail_smtp.wait_messages(before + 2)[before + 1]
    parsed = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert mail.rcpt_tos == ["ann@example.com"]
    assert parsed["Message-ID"] == f"<{reply['externalId']}>"
    assert parsed["In-Reply-To"] == f"<{ann_id}>", parsed["In-Reply-To"]
    assert parsed["References"].split() == [f"<{sent['externalId']}>", f"<{ann_id}>"], parsed["References"]
    assert parsed["Subject"] == "Re: Hello Ann,"

    # The same idempotency key never sends twice.
    key = f"k-{uuid.uuid4().hex}"
    first = api.send(account["id"], "ann@example.com", "only once", key=key)
    again = api.send(account["id"], "ann@example.com", "only once", key=key, expect=(200, 201))
    assert again["id"] == first["id"]
    time.sleep(0.5)
    assert [m for m in mail_smtp.messages if b"only once" in m.data].__len__() == 1


def test_idle_delivers_within_a_second(email_gateway, mail_user, email_hub):
    api = Api(email_gateway)
    desk = mail_user("idle")
    observer = email_hub(email_gateway, api)
    account = connected_account(api, desk.config())
    time.sleep(1.0)  # the watcher is in IDLE
    latencies = []
    for n in range(3):
        text = f"idle ping {n} {uuid.uuid4().hex[:6]}"
        started = time.monotonic()
        desk.append(raw_mail("bob@example.com", desk.address, "ping", text))
        observer.wait_for(event_with_text(text), timeout=5, what=f"hub event for {text!r}")
        latencies.append(time.monotonic() - started)
        time.sleep(0.3)
    print(f"IDLE latency (APPEND → hub event): {', '.join(f'{l * 1000:.0f} ms' for l in latencies)}")
    assert max(latencies) < 1.0, latencies
    for n in range(3):
        assert len(observer.system_events(lambda e: ((e.get("data") or {}).get("content") or "").startswith(f"idle ping {n} "))) == 1
    assert api.status(account["id"])["status"] == "connected"
