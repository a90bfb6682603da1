"""`fake-dc --world`: the JSON-line control protocol on stdin/stdout (Tests/telegram/fake_dc.py,
FakeWorld), several DCs in one process sharing the world (`--extra-dc-id`), and Telethon, an
independent client, logging in to that world (code, 2FA, PHONE_MIGRATE), reading dialogs and
sending. Every wait is bounded (COMMAND_TIMEOUT per command, fake_dc.run per Telethon body).
"""

from __future__ import annotations

import json
import struct
import subprocess

import pytest
from telethon import TelegramClient, errors, functions, types
from telethon.password import compute_check
from telethon.tl.tlobject import TLRequest

from fake_dc import (FakeDC, FakeWorld, WorldCommandError, bounded, connected_client, new_client, new_session, ping,
                     run, trust)

LOGIN_CODE = "24680"


@pytest.fixture(scope="module")
def world(tmp_path_factory, fake_dc_bin):
    """One world with DCs 2 and 4 for the module; fixed login code LOGIN_CODE."""
    dc = FakeWorld("world", tmp_path_factory.mktemp("fake-world"), fake_dc_bin, login_code=LOGIN_CODE,
                   extra_dc_ids=[4]).start()
    trust(dc)
    yield dc
    dc.stop()


@pytest.fixture
def telethon_config_cache():
    """Telethon caches help.getConfig on the TelegramClient class (its DC table for migrations):
    start from none and leave none, so no other DC's table is used."""
    TelegramClient._config = None
    yield
    TelegramClient._config = None


_phones = iter(range(1, 10_000))


def phone(dc: int = 2) -> str:
    return f"+1555{dc}{next(_phones):05d}"


# ---------------------------------------------------------------------------------------------
# The process


def test_ready_line_lists_every_data_center(world):
    line = json.loads(world.stdout_path.read_text().split("\n", 1)[0])
    assert set(line) >= {"port", "dcId", "fingerprint", "publicKey", "dataCenters"}, line
    assert line["dcId"] == 2 and line["dataCenters"]["2"] == line["port"]
    assert set(line["dataCenters"]) == {"2", "4"} and line["dataCenters"]["4"] != line["port"]
    assert world.data_centers == {2: line["port"], 4: line["dataCenters"]["4"]}


def test_every_data_center_serves_and_lists_all_in_get_config(world, telethon_config_cache):
    async def body() -> None:
        for dc_id, port in world.data_centers.items():
            session = new_session(world)
            session.set_dc(dc_id, "127.0.0.1", port)
            async with connected_client(world, "intermediate", session) as client:
                await ping(client, dc_id)
                config = await bounded(client(functions.help.GetConfigRequest()), what="help.getConfig")
                assert config.this_dc == dc_id
                assert {(o.id, o.port) for o in config.dc_options} == set(world.data_centers.items())
    run(body())


def test_without_world_the_first_line_also_lists_data_centers(tmp_path, fake_dc_bin):
    dc = FakeDC("plain", tmp_path / "dc", fake_dc_bin, dc_id=3).start()
    try:
        assert dc.info is not None and dc.info.data_centers == {3: dc.port}
    finally:
        dc.stop()


def test_end_of_stdin_exits_with_status_0(tmp_path, fake_dc_bin):
    dc = FakeWorld("eof", tmp_path / "dc", fake_dc_bin).start()
    try:
        assert dc.command("ping") == {"ok": True}
        assert dc.close_input() == 0
    finally:
        dc.stop()


def test_options_are_validated(tmp_path, fake_dc_bin):
    for args in (["--extra-dc-id", "2"], ["--login-code", "12a", "--world"], ["--login-code", "123"]):
        result = subprocess.run([str(fake_dc_bin), "--rsa-key", str(tmp_path / "k.pem"), *args], stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=30)
        assert result.returncode != 0 and result.stdout == b"", (args, result)


# ---------------------------------------------------------------------------------------------
# The protocol


def test_add_user_and_read_it_back(world):
    number = phone()
    reply = world.add_user(number, "Ann", username=f"ann{number[-5:]}")
    assert reply["ok"] and isinstance(reply["userId"], int) and isinstance(reply["accessHash"], int)
    user = world.user(reply["userId"])
    assert user == {"id": reply["userId"], "accessHash": reply["accessHash"], "phone": number[1:], "firstName": "Ann",
                    "lastName": None, "username": f"ann{number[-5:]}", "homeDc": 2, "hasPassword": False}
    with pytest.raises(WorldCommandError, match="PHONE_NUMBER_OCCUPIED"):
        world.add_user(number, "Ann again")
    assert world.state(reply["userId"]) == {"pts": 0, "seq": 0}


def test_deliver_and_messages(world):
    ann = world.add_user(phone(), "Ann")["userId"]
    bob = world.add_user(phone(), "Bob")["userId"]
    first = world.deliver(bob, ann, 'hi "Ann" / é 🙂\nsecond line')
    second = world.deliver(ann, bob, "hello Bob")
    assert first == 1 and second == 2  # ids in the recipient's box
    assert [(m["id"], m["chatPeer"], m["fromId"], m["text"], m["out"]) for m in world.messages(ann)] == [
        (1, {"type": "user", "id": bob}, bob, 'hi "Ann" / é 🙂\nsecond line', False),
        (2, {"type": "user", "id": bob}, ann, "hello Bob", True),
    ]
    assert all(isinstance(m["date"], int) and m["replyTo"] is None and m["service"] is False for m in world.messages(ann))
    assert world.state(ann) == {"pts": 2, "seq": 1}


def test_groups_channels_withhold_and_revoke(world):
    ann = world.add_user(phone(), "Ann")["userId"]
    bob = world.add_user(phone(), "Bob")["userId"]
    chat = world.create_group("Team", [ann, bob])
    assert world.deliver_group(bob, chat, "morning") == 2
    box = world.messages(ann)
    assert [(m["chatPeer"], m["service"], m["text"]) for m in box] == [
        ({"type": "chat", "id": chat}, True, ""), ({"type": "chat", "id": chat}, False, "morning")]
    channel = world.create_channel("News", [ann, bob], megagroup=False)
    assert world.deliver_group(ann, channel, "post") == 2
    with pytest.raises(WorldCommandError, match="no group or channel"):
        world.deliver_group(bob, 12345, "nowhere")
    assert [m["text"] for m in world.channel_messages(channel)] == ["", "post"]
    world.withhold(ann)
    world.withhold(ann, False)
    world.revoke(ann)


@pytest.mark.parametrize("line, error", [
    ("not json", "not JSON"),
    ("[1, 2]", "JSON object"),
    ('{"nocmd": 1}', "cmd: required"),
    ('{"cmd": 7}', "cmd: expected a string"),
    ('{"cmd": "fly"}', "unknown command"),
    ('{"cmd": "add_user", "phone": "+15550000"}', "firstName: required"),
    ('{"cmd": "add_user", "phone": "12", "firstName": "X"}', "PHONE_NUMBER_INVALID"),
    ('{"cmd": "add_user", "phone": "+15559999999", "firstName": "X", "homeDc": 0}', "homeDc"),
    ('{"cmd": "add_user", "phone": "+15559999998", "firstName": "X", "homeDc": "2"}', "homeDc"),
    ('{"cmd": "code_for", "phone": "+19999999999"}', "no login code"),
    ('{"cmd": "deliver", "from": 1, "to": 2, "text": "x"}', "no user"),
    ('{"cmd": "deliver", "from": "a", "to": 2, "text": "x"}', "from: expected an integer"),
    ('{"cmd": "messages", "userId": 1.5}', "userId: expected an integer"),
    ('{"cmd": "messages", "userId": 99999999999999999999999}', "userId"),
    ('{"cmd": "messages"}', "userId: required"),
    ('{"cmd": "state", "userId": true}', "userId: expected an integer"),
    ('{"cmd": "withhold", "userId": 1, "withheld": 1}', "no user"),
    ('{"cmd": "create_group", "title": "T", "members": []}', "members"),
    ('{"cmd": "create_group", "title": "T", "members": "x"}', "members"),
    ('{"cmd": "deliver_group", "from": 1, "to": 1, "text": "x"}', "no user"),
    ('{"cmd": "channel_messages", "channelId": 1}', "no channel"),
    ('{"cmd": "revoke"}', "userId: required"),
])
def test_bad_commands_answer_an_error_and_the_world_goes_on(world, line, error):
    reply = world.raw(line)
    assert reply["ok"] is False and error in reply["error"], reply
    assert world.command("ping") == {"ok": True}
    world.assert_alive()


@pytest.mark.parametrize("line", [
    b"\xff\xfe{not utf-8}",
    b"\x00\x00\x00",
    b"[" * 10_000,
    b'{"cmd": "ping", "padding": "' + b"x" * 1_000_000 + b'"',
    b'{"cmd": "add_user", "phone": "+1", "firstName": "\xc3"}',
], ids=["not-utf8", "nul", "deep-nesting", "1MB-unterminated", "broken-utf8-field"])
def test_hostile_lines_answer_an_error(world, line):
    reply = world.raw(line)
    assert reply["ok"] is False and reply["error"], reply
    assert world.command("ping") == {"ok": True}
    world.assert_alive()


def test_duplicate_members_count_once(world):
    ann = world.add_user(phone(), "Ann")["userId"]
    world.create_group("Twice", [ann, ann])
    assert len(world.messages(ann)) == 1


def test_blank_lines_are_ignored_and_answers_stay_in_order(world):
    ann = world.add_user(phone(), "Ann")["userId"]
    assert world.proc is not None and world.proc.stdin is not None
    world.proc.stdin.write(b"\n   \n")
    world.proc.stdin.flush()
    assert world.state(ann) == {"pts": 0, "seq": 0}
    assert world.command("ping") == {"ok": True}


# ---------------------------------------------------------------------------------------------
# Telethon in the world
#
# The world answers with our schema's constructors (layer 201); Telethon 1.39 knows layer 199,
# whose `user`, `message`, `dialog`… constructors differ, so it cannot decode an answer that
# carries a User or a Message. Such calls go through `raw_call` (the answer's bytes, undecoded);
# everything else (auth.sentCode, account.password, updates.state, RPC errors) Telethon decodes.


class RawResult(TLRequest):
    """Sends `request` as is; its result is the answer's bytes (not decoded)."""

    def __init__(self, request: TLRequest):
        self.request = request

    def _bytes(self) -> bytes:
        return bytes(self.request)

    @staticmethod
    def read_result(reader) -> bytes:
        return reader.read()


async def raw_call(client: TelegramClient, request: TLRequest) -> bytes:
    return await bounded(client._sender.send(RawResult(request)), what=type(request).__name__)


def constructor(answer: bytes) -> int:
    return struct.unpack_from("<I", answer)[0]


async def telethon_login(world: FakeWorld, number: str, password: str | None = None, dc_id: int = 2) -> TelegramClient:
    """Telethon asks for a code (following PHONE_MIGRATE), tries a wrong one, signs in with the
    world's code (and the 2FA password, after a wrong one)."""
    session = new_session(world)
    session.set_dc(dc_id, "127.0.0.1", world.data_centers[dc_id])
    # One retry: Telethon redoes a call after switching DC for PHONE_MIGRATE only within its retries.
    client = new_client(world, "intermediate", session, request_retries=1)
    await bounded(client.connect(), what="connect")
    sent = await bounded(client.send_code_request(number), what="send_code_request")
    assert isinstance(sent.type, types.auth.SentCodeTypeApp) and sent.type.length == len(LOGIN_CODE)
    code = world.code_for(number)
    assert code == LOGIN_CODE
    with pytest.raises(errors.PhoneCodeInvalidError):
        await bounded(client.sign_in(number, "13579"), what="sign_in with a wrong code")
    sign_in = functions.auth.SignInRequest(number, sent.phone_code_hash, code)
    if password is None:
        assert constructor(await raw_call(client, sign_in)) == types.auth.Authorization.CONSTRUCTOR_ID
        return client
    with pytest.raises(errors.SessionPasswordNeededError):
        await bounded(client(sign_in), what="sign_in")
    with pytest.raises(errors.PasswordHashInvalidError):
        await bounded(client.sign_in(password=password + "x"), what="sign_in with a wrong password")
    parameters = await bounded(client(functions.account.GetPasswordRequest()), what="account.getPassword")
    assert parameters.has_password
    check = functions.auth.CheckPasswordRequest(compute_check(parameters, password))
    assert constructor(await raw_call(client, check)) == types.auth.Authorization.CONSTRUCTOR_ID
    return client


async def logged_in_state(client: TelegramClient) -> types.updates.State:
    return await bounded(client(functions.updates.GetStateRequest()), what="updates.getState")


def test_telethon_logs_in_with_the_code_and_reads(world):
    ann_phone = phone()
    ann = world.add_user(ann_phone, "Ann")
    bob = world.add_user(phone(), "Bob")
    world.deliver(bob["userId"], ann["userId"], "hi Ann")

    async def body() -> None:
        client = await telethon_login(world, ann_phone)
        try:
            state = await logged_in_state(client)
            assert (state.pts, state.unread_count) == (1, 1)
            # (messages.sendMessage's constructor differs between layers 199 and 201: read receipts instead.)
            bob_peer = types.InputPeerUser(bob["userId"], bob["accessHash"])
            affected = await bounded(client(functions.messages.ReadHistoryRequest(bob_peer, max_id=1)), what="readHistory")
            assert (affected.pts, affected.pts_count) == (2, 1)
            assert (await logged_in_state(client)).unread_count == 0
            with pytest.raises(errors.PeerIdInvalidError):
                await bounded(client(functions.messages.ReadHistoryRequest(
                    types.InputPeerUser(bob["userId"], bob["accessHash"] ^ 1), max_id=1)), what="wrong access hash")
        finally:
            await bounded(client.disconnect(), what="disconnect")
    run(body())
    assert world.state(ann["userId"])["pts"] == 2
    assert world.state(bob["userId"])["pts"] == 2  # bob's outbox read


def test_telethon_two_step_verification(world):
    number = phone()
    carol = world.add_user(number, "Carol", password="correct horse", password_hint="horse")["userId"]
    assert world.user(carol)["hasPassword"] is True

    async def body() -> None:
        client = await telethon_login(world, number, password="correct horse")
        try:
            assert (await logged_in_state(client)).pts == 0
        finally:
            await bounded(client.disconnect(), what="disconnect")
    run(body())


def test_telethon_follows_phone_migrate_to_the_users_home_dc(world, telethon_config_cache):
    number = phone(4)
    world.add_user(number, "Dave", home_dc=4)

    async def body() -> None:
        client = await telethon_login(world, number, dc_id=2)
        try:
            assert client.session.dc_id == 4 and client.session.port == world.data_centers[4]
            await logged_in_state(client)
        finally:
            await bounded(client.disconnect(), what="disconnect")
    run(body())


def test_revoke_logs_telethon_out(world):
    number = phone()
    erin = world.add_user(number, "Erin")["userId"]

    async def body() -> None:
        client = await telethon_login(world, number)
        try:
            await logged_in_state(client)
            world.revoke(erin)
            with pytest.raises(errors.SessionRevokedError):
                await logged_in_state(client)
        finally:
            await bounded(client.disconnect(), what="disconnect")
    run(body())
