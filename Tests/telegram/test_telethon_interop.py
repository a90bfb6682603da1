"""Telethon 1.39.0 (layer 199), an independent real MTProto 2.0 client, against our fake data
center (plugins/telegram: handshake, encrypted sessions, transports), over every transport:
full, abridged, intermediate and obfuscated (abridged inside AES-256-CTR).

Each test opens its own Telethon client(s) on the module's fake-dc process; every await is
bounded (fake_dc.bounded / fake_dc.run).
"""

from __future__ import annotations

import asyncio

import pytest
from telethon import errors, functions, types
from telethon.crypto import AuthKey
from telethon.network import mtprotosender
from telethon.tl.alltlobjects import LAYER

from fake_dc import (
    API_ID,
    TELEGRAM_KEYS,
    TRANSPORTS,
    FakeDC,
    bounded,
    check_serves,
    connected_client,
    new_client,
    new_session,
    ping,
    run,
    telethon_fingerprint,
    trust,
)

ALL_TRANSPORTS = pytest.mark.parametrize("transport", list(TRANSPORTS))


def init_connection(query) -> functions.InitConnectionRequest:
    return functions.InitConnectionRequest(api_id=API_ID, device_model="pytest", system_version="1.0",
                                           app_version="1.0", system_lang_code="en", lang_pack="", lang_code="en",
                                           query=query)


# ---------------------------------------------------------------------------------------------
# The binary's contract


def test_telethon_speaks_layer_199():
    assert LAYER == 199


def test_printed_fingerprint_is_the_one_telethon_computes(fake_dc):
    info = fake_dc.info
    assert info.dc_id == 2
    assert info.public_key_pem.startswith("-----BEGIN RSA PUBLIC KEY-----"), "PKCS#1 public key expected"
    assert info.public_key_path == fake_dc.key_path.with_name(fake_dc.key_path.name + ".pub")
    assert info.fingerprint == telethon_fingerprint(info.public_key_pem)


def test_existing_key_is_loaded_not_regenerated(tmp_path, fake_dc_bin):
    first = FakeDC("first", tmp_path, fake_dc_bin).start()
    first.stop()
    second = FakeDC("second", tmp_path, fake_dc_bin).start()
    try:
        assert second.info.fingerprint == first.info.fingerprint
        assert second.info.public_key_pem == first.info.public_key_pem
    finally:
        second.stop()


def test_dc_id_option_is_reported(tmp_path, fake_dc_bin):
    dc = FakeDC("dc4", tmp_path, fake_dc_bin, dc_id=4).start()
    try:
        trust(dc)

        async def body():
            async with connected_client(dc, "abridged") as client:
                nearest = await bounded(client(functions.help.GetNearestDcRequest()))
                assert (nearest.this_dc, nearest.nearest_dc) == (4, 4)
                config = await bounded(client(functions.help.GetConfigRequest()))
                assert config.this_dc == 4
        assert dc.info.dc_id == 4
        run(body())
    finally:
        dc.stop()


# ---------------------------------------------------------------------------------------------
# Handshake and RPCs, over every transport


@ALL_TRANSPORTS
def test_connect_runs_handshake_and_init_connection(fake_dc, transport):
    """connect(): auth key exchange, then invokeWithLayer(199, invokeWithoutUpdates(initConnection(
    help.getConfig))) (Telethon sends it without awaiting it: we await its future here), then
    users.getUsers([self]) → AUTH_KEY_UNREGISTERED, which Telethon maps to "not logged in"."""
    async def body():
        client = new_client(fake_dc, transport)
        sent = []
        original_send = client._sender.send

        def recording_send(request, ordered=False):
            future = original_send(request, ordered)
            sent.append((request, future))
            return future

        client._sender.send = recording_send
        assert not client.session.auth_key
        await bounded(client.connect(), what=f"connect over {transport}")
        try:
            assert client.is_connected()
            key = client.session.auth_key.key
            assert key is not None and len(key) == 256
            init = [future for request, future in sent if isinstance(request, functions.InvokeWithLayerRequest)]
            assert len(init) == 1, [type(request).__name__ for request, _ in sent]
            layered = next(request for request, _ in sent if isinstance(request, functions.InvokeWithLayerRequest))
            assert layered.layer == 199
            config = await bounded(init[0], what="the initConnection(help.getConfig) answer")
            assert isinstance(config, types.Config) and config.this_dc == 2
            assert await bounded(client.get_me()) is None
        finally:
            await bounded(client.disconnect())
    run(body())


@ALL_TRANSPORTS
def test_ping(fake_dc, transport, new_sessions_created):
    async def body():
        async with connected_client(fake_dc, transport) as client:
            for ping_id in (1, -1, 2**63 - 1, -(2**63), 0x0123456789ABCDEF):
                pong = await bounded(client(functions.PingRequest(ping_id=ping_id)))
                assert isinstance(pong, types.Pong)
                assert pong.ping_id == ping_id
            # One MTProto session, announced once.
            assert new_sessions_created == {id(client._sender): 1}
    run(body())


@ALL_TRANSPORTS
def test_ping_delay_disconnect(fake_dc, transport):
    async def body():
        async with connected_client(fake_dc, transport) as client:
            pong = await bounded(client(functions.PingDelayDisconnectRequest(ping_id=77, disconnect_delay=75)))
            assert isinstance(pong, types.Pong) and pong.ping_id == 77
            await ping(client, 78)  # still connected: the delay is 75 s
    run(body())


@ALL_TRANSPORTS
def test_get_nearest_dc(fake_dc, transport):
    async def body():
        async with connected_client(fake_dc, transport) as client:
            nearest = await bounded(client(functions.help.GetNearestDcRequest()))
            assert isinstance(nearest, types.NearestDc)
            assert (nearest.country, nearest.this_dc, nearest.nearest_dc) == ("ZZ", 2, 2)
    run(body())


@ALL_TRANSPORTS
def test_get_config(fake_dc, transport):
    async def body():
        async with connected_client(fake_dc, transport) as client:
            config = await bounded(client(functions.help.GetConfigRequest()))
            assert isinstance(config, types.Config)
            assert config.this_dc == 2
            assert config.expires > config.date
            own = [option for option in config.dc_options if option.id == 2]
            assert own and all(option.ip_address == "127.0.0.1" for option in own), config.dc_options
    run(body())


def test_get_config_lists_the_listening_port(fake_dc):
    async def body():
        async with connected_client(fake_dc, "abridged") as client:
            config = await bounded(client(functions.help.GetConfigRequest()))
            assert [(o.id, o.ip_address, o.port) for o in config.dc_options] == [(2, "127.0.0.1", fake_dc.port)]
    run(body())


@pytest.fixture
def telethon_future_salts_fix(monkeypatch):
    """Telethon 1.39's MTProtoSender._handle_future_salts looks the request up by the msg_id of the
    server's message instead of future_salts.req_msg_id (MTProto: future_salts is answered bare,
    not in an rpc_result, and req_msg_id names the request), so GetFutureSaltsRequest never
    resolves against a server that follows the spec. This handler keys on req_msg_id, as the spec
    (and e.g. Pyrogram) does; it also proves our req_msg_id names the request."""
    async def handle_future_salts(self, message):
        state = self._pending_state.pop(message.obj.req_msg_id, None)
        if state:
            state.future.set_result(message.obj)

    monkeypatch.setattr(mtprotosender.MTProtoSender, "_handle_future_salts", handle_future_salts)


@ALL_TRANSPORTS
def test_get_future_salts(fake_dc, transport, telethon_future_salts_fix):
    async def body():
        async with connected_client(fake_dc, transport) as client:
            salts = await bounded(client(functions.GetFutureSaltsRequest(num=3)))
            assert isinstance(salts, types.FutureSalts)
            assert len(salts.salts) == 3
            assert len({salt.salt for salt in salts.salts}) == 3
            for salt in salts.salts:
                assert salt.valid_since < salt.valid_until
            for earlier, later in zip(salts.salts, salts.salts[1:]):
                assert earlier.valid_until <= later.valid_until
            await ping(client, 3)
    run(body())


@ALL_TRANSPORTS
def test_updates_get_state(fake_dc, transport):
    async def body():
        async with connected_client(fake_dc, transport) as client:
            state = await bounded(client(functions.updates.GetStateRequest()))
            assert isinstance(state, types.updates.State)
            assert (state.pts, state.qts, state.seq, state.unread_count) == (0, 0, 0, 0)
    run(body())


@ALL_TRANSPORTS
def test_users_get_users_is_unauthorized(fake_dc, transport):
    async def body():
        async with connected_client(fake_dc, transport) as client:
            with pytest.raises(errors.AuthKeyUnregisteredError) as caught:
                await bounded(client(functions.users.GetUsersRequest(id=[types.InputUserSelf()])))
            assert caught.value.code == 401
            await ping(client, 401)
    run(body())


@ALL_TRANSPORTS
def test_concurrent_pings_in_containers(fake_dc, transport):
    """~20 requests in flight at once: Telethon packs them into msg_containers; each answer must
    reach its own request (pong.msg_id) with its own ping_id."""
    async def body():
        async with connected_client(fake_dc, transport) as client:
            for round_ in range(3):
                ids = [round_ * 1000 + n * 7919 - 50_000 for n in range(20)]
                pongs = await bounded(asyncio.gather(*(client(functions.PingRequest(ping_id=i)) for i in ids)))
                assert [pong.ping_id for pong in pongs] == ids
                assert len({pong.msg_id for pong in pongs}) == len(ids)
    run(body())


@ALL_TRANSPORTS
def test_concurrent_mixed_requests(fake_dc, transport):
    """Different requests (results, an rpc_error, service pongs) in one batch, each answered."""
    async def body():
        async with connected_client(fake_dc, transport) as client:
            results = await bounded(asyncio.gather(
                client(functions.PingRequest(ping_id=11)),
                client(functions.help.GetNearestDcRequest()),
                client(functions.help.GetAppConfigRequest(hash=0)),
                client(functions.updates.GetStateRequest()),
                client(functions.PingRequest(ping_id=12)),
                client(functions.help.GetConfigRequest()),
                return_exceptions=True,
            ))
            assert results[0].ping_id == 11
            assert results[1].this_dc == 2
            assert isinstance(results[2], errors.RPCError) and results[2].message == "METHOD_NOT_IMPLEMENTED"
            assert results[3].pts == 0
            assert results[4].ping_id == 12
            assert results[5].this_dc == 2
    run(body())


@ALL_TRANSPORTS
def test_unimplemented_method_is_an_rpc_error(fake_dc, transport):
    async def body():
        async with connected_client(fake_dc, transport) as client:
            with pytest.raises(errors.RPCError) as caught:
                await bounded(client(functions.help.GetAppConfigRequest(hash=0)))
            assert caught.value.code == 400
            assert caught.value.message == "METHOD_NOT_IMPLEMENTED"
            assert isinstance(caught.value, errors.BadRequestError)
            assert client.is_connected()
            await ping(client, 400)
            with pytest.raises(errors.RPCError) as again:
                await bounded(client(functions.langpack.GetLanguagesRequest(lang_pack="")))
            assert again.value.message == "METHOD_NOT_IMPLEMENTED"
            await ping(client, 401)
    run(body())


@ALL_TRANSPORTS
def test_auth_key_reuse_skips_the_handshake(fake_dc, transport, monkeypatch):
    async def body():
        async with connected_client(fake_dc, transport) as first:
            saved = first.session.auth_key.key
            await ping(first, 1)
        assert saved and len(saved) == 256

        # A handshake now would be a failure: Telethon must use the saved key as is.
        async def no_handshake(*_args, **_kwargs):
            raise AssertionError("Telethon started a new auth key exchange")
        monkeypatch.setattr(mtprotosender.authenticator, "do_authentication", no_handshake)

        session = new_session(fake_dc)
        session.auth_key = AuthKey(saved)
        async with connected_client(fake_dc, transport, session=session) as second:
            await ping(second, 2)
            nearest = await bounded(second(functions.help.GetNearestDcRequest()))
            assert nearest.this_dc == 2
            assert second.session.auth_key.key == saved

        # The same key over another transport (a new connection, a new MTProto session).
        other = "full" if transport != "full" else "obfuscated"
        session = new_session(fake_dc)
        session.auth_key = AuthKey(saved)
        async with connected_client(fake_dc, other, session=session) as third:
            await ping(third, 3)
            assert third.session.auth_key.key == saved
    run(body())


@pytest.fixture
def new_sessions_created(monkeypatch) -> dict[int, int]:
    """How many new_session_created each Telethon sender (by id()) received; patch before the
    clients are made (a sender binds its handlers when created)."""
    created: dict[int, int] = {}
    original = mtprotosender.MTProtoSender._handle_new_session_created

    async def counting(self, message):
        created[id(self)] = created.get(id(self), 0) + 1
        await original(self, message)

    monkeypatch.setattr(mtprotosender.MTProtoSender, "_handle_new_session_created", counting)
    return created


def test_two_sessions_on_one_auth_key_at_once(fake_dc, new_sessions_created):
    """Two connections (two MTProto sessions) on the same auth key at the same time, as an app
    with several connections to one DC does: each session gets one new_session_created, and every
    request of each gets its own answer."""
    created = new_sessions_created

    async def body():
        async with connected_client(fake_dc, "abridged") as first:
            session = new_session(fake_dc)
            session.auth_key = AuthKey(first.session.auth_key.key)
            async with connected_client(fake_dc, "abridged", session=session) as second:
                for n in range(3):  # strictly alternating: no concurrency at all
                    await ping(first, 100 + n)
                    await ping(second, 200 + n)
                assert created.get(id(first._sender)) == 1 and created.get(id(second._sender)) == 1, created
                for _ in range(10):
                    requests = [c(functions.updates.GetStateRequest()) for _ in range(10) for c in (first, second)]
                    results = await bounded(asyncio.gather(*(asyncio.wait_for(r, 2) for r in requests),
                                                           return_exceptions=True), 15)
                    failures = [repr(r) for r in results if not isinstance(r, types.updates.State)]
                    assert not failures, f"{len(failures)} of {len(results)} requests failed: {failures[:3]}"
    run(body())


@ALL_TRANSPORTS
def test_disconnect_and_reconnect(fake_dc, transport):
    async def body():
        client = new_client(fake_dc, transport)
        try:
            await bounded(client.connect())
            key = client.session.auth_key.key
            await ping(client, 1)
            await bounded(client.disconnect())
            assert not client.is_connected()
            for n in range(2, 4):
                await bounded(client.connect(), what=f"reconnect #{n - 1}")
                assert client.is_connected()
                await ping(client, n)
                assert client.session.auth_key.key == key
                nearest = await bounded(client(functions.help.GetNearestDcRequest()))
                assert nearest.this_dc == 2
                await bounded(client.disconnect())
        finally:
            await bounded(client.disconnect())
    run(body())


def test_client_receiving_updates_connects(fake_dc):
    async def body():
        async with connected_client(fake_dc, "abridged", receive_updates=True) as client:
            await ping(client, 9)
            state = await bounded(client(functions.updates.GetStateRequest()))
            assert state.pts == 0
    run(body())


@pytest.mark.parametrize("layer, ok", [(99, False), (100, True), (201, True), (202, False)])
def test_invoke_with_layer_range(fake_dc, layer, ok):
    async def body():
        async with connected_client(fake_dc, "intermediate") as client:
            request = functions.InvokeWithLayerRequest(layer, init_connection(functions.help.GetNearestDcRequest()))
            if ok:
                nearest = await bounded(client(request))
                assert nearest.this_dc == 2
            else:
                with pytest.raises(errors.RPCError) as caught:
                    await bounded(client(request))
                assert (caught.value.code, caught.value.message) == (400, "LAYER_INVALID")
            await ping(client, layer)
    run(body())


# ---------------------------------------------------------------------------------------------
# A client that does not know the DC's key


@ALL_TRANSPORTS
def test_unknown_server_key_fails_cleanly(fake_dc, transport, telethon_keys):
    """Telethon trusting only Telegram's own keys (not the DC's) must refuse the handshake with an
    error, quickly; the DC must survive it and keep serving."""
    telethon_keys.clear()
    telethon_keys.update(TELEGRAM_KEYS)
    assert TELEGRAM_KEYS
    assert int(fake_dc.info.fingerprint, 16) not in {fp & 0xFFFF_FFFF_FFFF_FFFF for fp in telethon_keys}

    async def body():
        client = new_client(fake_dc, transport)
        try:
            with pytest.raises((ConnectionError, errors.SecurityError, ValueError)):
                await asyncio.wait_for(client.connect(), 10)
            assert not client.is_connected()
            assert not client.session.auth_key
        finally:
            await asyncio.wait_for(client.disconnect(), 10)
    run(body())

    trust(fake_dc)
    check_serves(fake_dc, transport)


def test_another_dcs_key_only_fails_cleanly(fake_dc, fresh_fake_dc, telethon_keys):
    """Telethon trusting exactly one key, a valid one but another DC's."""
    telethon_keys.clear()
    trust(fresh_fake_dc)
    assert fresh_fake_dc.info.fingerprint != fake_dc.info.fingerprint

    async def body():
        client = new_client(fake_dc, "full")
        try:
            with pytest.raises((ConnectionError, errors.SecurityError, ValueError)):
                await asyncio.wait_for(client.connect(), 10)
        finally:
            await asyncio.wait_for(client.disconnect(), 10)
    run(body())

    check_serves(fresh_fake_dc)  # the key does work with its own DC
    trust(fake_dc)
    check_serves(fake_dc)
