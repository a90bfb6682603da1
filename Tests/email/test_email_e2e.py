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

from conftest import Api, eventually, start_email_gateway, wait_for_plugin
from hub_harness import event_with_text

import hostile_servers

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


def flags_of(mailbox, message_id: str) -> str:
    imap = mailbox.dovecot.client(mailbox.address)
    try:
        imap.select("INBOX", readonly=True)
        typ, found = imap.search(None, "HEADER", "Message-ID", f"<{message_id}>")
        assert typ == "OK" and found[0], (typ, found)
        typ, data = imap.fetch(found[0].split()[0], "(FLAGS)")
        return data[0].decode()
    finally:
        imap.logout()


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

    # Fetching did not mark it read; marking the chat read sets \Seen in the mailbox.
    assert "\\Seen" not in flags_of(desk, ann_id)
    api.request("POST", "/api/messaging/chats/ann@example.com/mark-all-read", {"bdAccountId": account["id"]}, expect=200)
    eventually(lambda: "\\Seen" in flags_of(desk, ann_id), timeout=10, what="\\Seen on Ann's message",
               last=lambda: flags_of(desk, ann_id))

    # Reply in the chat: threading headers name Ann's message and the thread's root.
    reply = api.send(account["id"], "ann@example.com", "Glad to hear it.")
    mail = mail_smtp.wait_messages(before + 2)[before + 1]
    parsed = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert mail.rcpt_tos == ["ann@example.com"]
    assert parsed["Message-ID"] == f"<{reply['externalId']}>"
    assert parsed["In-Reply-To"] == f"<{ann_id}>", parsed["In-Reply-To"]
    assert parsed["References"].split() == [f"<{sent['externalId']}>", f"<{ann_id}>"], parsed["References"]
    assert parsed["Subject"] == "Re: Hello Ann,"

    # Dialogs: the conversation with Ann, most recent first.
    dialogs = api.request("GET", f"/api/bd-accounts/{account['id']}/dialogs", expect=200)["dialogs"]
    assert [(d["chatId"], d.get("lastMessageText")) for d in dialogs] == [("ann@example.com", "Glad to hear it.")], dialogs

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
    connected = observer.system_events(lambda e: e.get("type") == "BD_ACCOUNT_CONNECTED")
    assert len(connected) == 1, [e.get("type") for e in observer.system_events()]
    latencies = []
    client = desk.dovecot.client(desk.address)  # logged in beforehand: the clock starts at the APPEND
    try:
        for n in range(3):
            text = f"idle ping {n} {uuid.uuid4().hex[:6]}"
            raw = raw_mail("bob@example.com", desk.address, "ping", text)
            started = time.monotonic()
            assert client.append("INBOX", None, None, raw)[0] == "OK"
            observer.wait_for(event_with_text(text), timeout=5, what=f"hub event for {text!r}")
            latencies.append(time.monotonic() - started)
            time.sleep(0.3)
    finally:
        client.logout()
    print(f"IDLE latency (APPEND → hub event): {', '.join(f'{l * 1000:.0f} ms' for l in latencies)}")
    assert max(latencies) < 1.0, latencies
    for n in range(3):
        assert len(observer.system_events(lambda e: ((e.get("data") or {}).get("content") or "").startswith(f"idle ping {n} "))) == 1
    assert api.status(account["id"])["status"] == "connected"


def test_refused_recipient_fails_the_message_with_the_servers_reply(email_gateway, mail_user, mail_smtp):
    api = Api(email_gateway)
    desk = mail_user("refuse")
    account = connected_account(api, desk.config())
    error = api.send(account["id"], "nobody@example.com", "is anyone there?", expect=502)["error"]
    assert error["details"]["channelCode"] == "RECIPIENT_REJECTED", error
    assert "550 5.1.1" in error["message"] and "nobody@example.com" in error["message"], error
    failed = [m for m in api.messages(account["id"]) if m["content"] == "is anyone there?"]
    assert len(failed) == 1 and failed[0]["status"] == "failed", failed
    assert "550 5.1.1" in failed[0]["error"] and "User unknown" in failed[0]["error"], failed[0]
    assert not [m for m in mail_smtp.messages if b"is anyone there?" in m.data]
    # Not an address at all: refused before any network call.
    error = api.send(account["id"], "not an address", "x", expect=400)["error"]
    assert error["code"] == "RECIPIENT_INVALID", error


def test_bad_credentials_and_untrusted_certificates_are_clear_errors(email_gateway, mail_user):
    api = Api(email_gateway)
    desk = mail_user("creds")
    cases = []
    config = desk.config()
    config["imap"]["password"] = "wrong"
    cases.append(("AUTH_FAILED", "IMAP login rejected", config))
    config = desk.config()
    config["smtp"]["password"] = "wrong"
    cases.append(("AUTH_FAILED", "SMTP login rejected", config))
    config = desk.config()
    del config["imap"]["caFile"]
    cases.append(("TLS_FAILED", "certificate verification failed", config))
    config = desk.config()
    del config["smtp"]["caFile"]
    cases.append(("TLS_FAILED", "SMTP TLS", config))
    config = desk.config()
    config["imap"]["port"] = config["smtp"]["port"]  # an SMTP server where IMAP is expected
    config["imap"]["timeoutSeconds"] = 3
    cases.append(("UNREACHABLE", "IMAP", config))
    for code, text, config in cases:
        account = api.connect(config)
        assert account["status"] == "error" and account["isConnected"] is False, (code, account)
        assert account["error"].startswith(code) and text in account["error"], (code, text, account["error"])
        assert desk.password not in account["error"]
        assert api.status(account["id"])["status"] == "error"
    # Missing or malformed settings: 400 before any network call.
    bad = desk.config()
    del bad["imap"]["host"]
    error = api.request("POST", "/api/bd-accounts/connect", {"platform": "email", "config": bad}, expect=(400, 502))
    assert "imap.host" in str(error), error


def test_smtp_auth_mechanism_can_be_forced(email_gateway, mail_user, mail_smtp):
    api = Api(email_gateway)
    for mechanism in ("LOGIN", "PLAIN"):
        desk = mail_user("auth")
        config = desk.config()
        config["smtp"]["auth"] = mechanism
        account = connected_account(api, config)
        before = len(mail_smtp.handler.mechanisms)
        api.send(account["id"], "gus@example.com", f"sent with AUTH {mechanism}")
        assert mail_smtp.handler.mechanisms[before:] == [mechanism], mail_smtp.handler.mechanisms[before:]


def test_implicit_tls_on_both_sides(email_gateway, mail_user, mail_smtps, email_hub):
    api = Api(email_gateway)
    desk = mail_user("tls")
    mail_smtps.users[desk.address] = desk.password
    observer = email_hub(email_gateway, api)
    account = connected_account(api, desk.config(imap_tls="implicit", smtp=mail_smtps))
    before = len(mail_smtps.messages)
    sent = api.send(account["id"], "carl@example.com", "over SMTPS")
    mail = mail_smtps.wait_messages(before + 1)[before]
    assert mail.rcpt_tos == ["carl@example.com"] and f"<{sent['externalId']}>".encode() in mail.data
    desk.append(raw_mail("carl@example.com", desk.address, "imaps", "over IMAPS"))
    arrives_once(api, account["id"], "over IMAPS")
    observer.wait_for(event_with_text("over IMAPS"), timeout=10, what="hub event over IMAPS")


MALFORMED = {
    "broken boundary": (b"From: m@example.com\r\nSubject: broken boundary\r\nMIME-Version: 1.0\r\n"
                        b"Content-Type: multipart/mixed; boundary=\"declared\"\r\n\r\n--other\r\n"
                        b"Content-Type: text/plain\r\n\r\nbody behind an undeclared boundary\r\n--other--\r\n"),
    "bad base64": (b"From: m@example.com\r\nSubject: bad base64\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8g!!*d29ybGQ=\r\n"),
    "bad quoted-printable": (b"From: m@example.com\r\nSubject: bad qp\r\nContent-Type: text/plain; charset=utf-8\r\n"
                             b"Content-Transfer-Encoding: quoted-printable\r\n\r\nbroken =ZZ escape =\r\n"),
    "unknown charset": (b"From: m@example.com\r\nSubject: =?x-klingon?Q?tlhIngan?=\r\n"
                        b"Content-Type: text/plain; charset=x-klingon\r\n\r\nqapla\xff\r\n"),
    "truncated multipart": (b"From: m@example.com\r\nSubject: truncated\r\nContent-Type: multipart/alternative; "
                            b"boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\ncut short\r\n"),
    "ten megabyte line": (b"From: m@example.com\r\nSubject: huge line\r\nContent-Type: text/plain\r\n\r\n"
                          + b"x" * (10 * 1024 * 1024) + b"\r\n"),
    "binary garbage": b"From: m@example.com\r\nSubject: garbage\r\n\r\n" + bytes(range(256)) * 64,
}


def test_malformed_mime_is_stored_with_parse_warnings(email_gateway, mail_user):
    api = Api(email_gateway)
    desk = mail_user("malformed")
    account = connected_account(api, desk.config())
    for raw in MALFORMED.values():
        desk.append(raw)
    desk.append(raw_mail("m@example.com", desk.address, "after the bad ones", "still alive"))
    arrives_once(api, account["id"], "still alive", timeout=30)
    email_gateway.assert_alive()
    messages = {(m.get("metadata") or {}).get("subject"): m for m in api.messages(account["id"])}
    expected = {"broken boundary": "body behind an undeclared boundary", "bad base64": "hello",
                "bad qp": "broken", "tlhIngan": "qapla", "truncated": "cut short", "huge line": "xxxx",
                "garbage": ""}
    for subject, text in expected.items():
        assert subject in messages, (subject, sorted(str(s) for s in messages))
        message = messages[subject]
        warnings = (message.get("metadata") or {}).get("parseWarnings")
        assert warnings and all(isinstance(w, str) and w for w in warnings), (subject, message.get("metadata"))
        assert text in message["content"], (subject, message["content"][:200])
    assert len(messages["huge line"]["content"]) == 1 << 20  # cut, with a warning saying so
    assert any("cut" in w for w in messages["huge line"]["metadata"]["parseWarnings"])
    assert api.status(account["id"])["status"] == "connected"


def test_polling_without_idle_and_oversized_messages(tmp_path, mail_user):
    gateway = start_email_gateway("email-polling", tmp_path / "gateway", idle=False, poll_interval_seconds=0.3,
                                  max_message_bytes=200_000)
    try:
        api = Api(gateway)
        desk = mail_user("poll")
        account = connected_account(api, desk.config())
        desk.append(raw_mail("dora@example.com", desk.address, "poll", "found by polling"))
        started = time.monotonic()
        arrives_once(api, account["id"], "found by polling", timeout=10)
        assert "with polling" in gateway.log_text()
        assert time.monotonic() - started < 5
        # Over max_message_bytes: only the header is fetched, and the message says so.
        desk.append(raw_mail("dora@example.com", desk.address, "a big one", "y" * 300_000, message_id="big@example.com"))
        big = eventually(lambda: [m for m in api.messages(account["id"]) if m["externalId"] == "big@example.com"],
                         timeout=10, what="the oversized message")[0]
        assert big["content"] == "" and big["metadata"]["truncated"] is True, big
        assert big["metadata"]["subject"] == "a big one" and big["metadata"]["size"] > 300_000, big["metadata"]
        assert "only its header was fetched" in big["metadata"]["parseWarnings"][0], big["metadata"]
    finally:
        gateway.stop()


def test_restart_resumes_without_duplicates_and_keeps_secrets_encrypted(tmp_path, mail_user):
    work = tmp_path / "gateway"
    gateway = start_email_gateway("email-restart", work)
    try:
        api = Api(gateway)
        desk = mail_user("restart")
        account = connected_account(api, desk.config())
        for n in range(3):
            desk.append(raw_mail("erin@example.com", desk.address, "before", f"before the restart {n}"))
        for n in range(3):
            arrives_once(api, account["id"], f"before the restart {n}")
        gateway.stop()

        database = b"".join(path.read_bytes() for path in work.glob("gateway.sqlite*"))
        assert desk.password.encode() not in database, "the password is stored in plaintext"
        assert desk.password not in gateway.log_text(), "the password is in the gateway's log"
        desk.append(raw_mail("erin@example.com", desk.address, "down", "while the gateway was down"))
        gateway.start()
        wait_for_plugin(gateway)  # a failure still stops it (the finally below)

        api.wait_status(account["id"], "connected")
        arrives_once(api, account["id"], "while the gateway was down")
        for n in range(3):
            assert len(stored(api, account["id"], f"before the restart {n}")) == 1
        desk.append(raw_mail("erin@example.com", desk.address, "after", "after the restart"))
        arrives_once(api, account["id"], "after the restart", timeout=10)
        # Sending still works, threaded in Erin's chat.
        assert api.send(account["id"], "erin@example.com", "back online")["status"] == "sent"
    finally:
        gateway.stop()


def test_uidvalidity_change_rereads_without_duplicates(email_gateway, mail_user):
    api = Api(email_gateway)
    desk = mail_user("validity")
    imap = desk.dovecot.client(desk.address)
    assert imap.create("Work")[0] == "OK"
    imap.logout()
    account = connected_account(api, desk.config(mailbox="Work"))
    first = raw_mail("fay@example.com", desk.address, "w1", "first in Work", message_id="w1@example.com")
    desk.append(first, "Work")
    arrives_once(api, account["id"], "first in Work")

    # Recreate the mailbox: a new UIDVALIDITY, the same message again plus a new one.
    time.sleep(1.1)
    imap = desk.dovecot.client(desk.address)
    imap.select("INBOX")
    assert imap.delete("Work")[0] == "OK"
    assert imap.create("Work")[0] == "OK"
    imap.logout()
    desk.append(first, "Work")
    desk.append(raw_mail("fay@example.com", desk.address, "w2", "second in Work"), "Work")
    arrives_once(api, account["id"], "second in Work", timeout=30)
    assert len(stored(api, account["id"], "first in Work")) == 1
    api.wait_status(account["id"], "connected")


@pytest.mark.parametrize("behaviour", ["garbage_greeting", "silent", "bye_at_once", "huge_literal_on_login",
                                       "malformed_select"])
def test_hostile_imap_server_at_connect_is_a_clear_error(email_gateway, mail_user, behaviour):
    server = hostile_servers.HostileServer(getattr(hostile_servers, behaviour))
    try:
        api = Api(email_gateway)
        desk = mail_user("hostile")
        config = desk.config()
        config["imap"] = {"host": "127.0.0.1", "port": server.port, "tls": "none", "username": desk.address,
                          "password": desk.password, "timeoutSeconds": 2}
        started = time.monotonic()
        account = api.connect(config)
        assert time.monotonic() - started < 15, "connect took too long"
        assert account["status"] == "error" and account["error"], account
        assert account["error"].split(":")[0] in {"UNREACHABLE", "MAIL_ERROR", "AUTH_FAILED"}, account["error"]
        email_gateway.assert_alive()
    finally:
        server.stop()


@pytest.mark.parametrize("behaviour", ["truncated_body_fetch", "deep_nesting_fetch", "huge_literal_fetch"])
def test_hostile_imap_server_while_watching_is_retried(email_gateway, mail_user, behaviour):
    server = hostile_servers.HostileServer(getattr(hostile_servers, behaviour))
    try:
        api = Api(email_gateway)
        desk = mail_user("hostile")
        config = desk.config()
        config["imap"] = {"host": "127.0.0.1", "port": server.port, "tls": "none", "username": desk.address,
                          "password": desk.password, "timeoutSeconds": 2}
        account = api.connect(config)
        assert account["status"] == "connected", account
        status = api.wait_status(account["id"], "error", timeout=20)
        assert status["error"], status
        eventually(lambda: server.connections >= 4, timeout=20, what="reconnects with backoff",
                   last=lambda: server.connections)
        email_gateway.assert_alive()
        api.request("POST", f"/api/bd-accounts/{account['id']}/disconnect", expect=200)
    finally:
        server.stop()


@pytest.mark.parametrize("behaviour,code", [("smtp_garbage_greeting", "UNREACHABLE"), ("smtp_silent", "UNREACHABLE"),
                                            ("smtp_without_starttls", "TLS_FAILED"),
                                            ("smtp_multiline_flood", "UNREACHABLE")])
def test_hostile_smtp_server_at_connect_is_a_clear_error(email_gateway, mail_user, behaviour, code):
    server = hostile_servers.HostileServer(getattr(hostile_servers, behaviour))
    try:
        api = Api(email_gateway)
        desk = mail_user("hostile-smtp")
        config = desk.config()
        config["smtp"] = {"host": "127.0.0.1", "port": server.port, "tls": "starttls", "username": desk.address,
                          "password": desk.password, "timeoutSeconds": 2}
        started = time.monotonic()
        account = api.connect(config)
        assert time.monotonic() - started < 15, "connect took too long"
        assert account["status"] == "error" and account["error"].startswith(code), account
        assert desk.password not in account["error"]
        email_gateway.assert_alive()
    finally:
        server.stop()
