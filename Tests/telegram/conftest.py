"""Fixtures of the Telegram interop suite: real `fake-dc` processes (our MTProto server side, see
plugins/telegram/Sources/FakeDC) driven by Telethon, an independent real client.

- `fake_dc`: one DC (id 2, key generated under a temporary directory) for a whole test module,
  trusted by Telethon; stopped (SIGTERM, then SIGKILL) at the end of the module;
- `fresh_fake_dc`: the same, but for one test only, for tests that must not share a DC;
- `telethon_keys`: restores Telethon's process-wide RSA key table after a test that changed it;
- `telethon_full_length_auth_key` (automatic): see below.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from telethon.crypto import AuthKey
from telethon.crypto import rsa as telethon_rsa
from telethon.network import authenticator

from fake_dc import FakeDC, fake_dc_binary, trust

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from gateway_process import GatewayProcess  # noqa: E402

# `make test` may collect other suites in the same pytest run: fixture names here are specific to
# this suite (`fake_dc...`, `telethon_...`) and the hooks act on this directory's items only.

_HERE = Path(__file__).resolve().parent
_LOG_OFFSETS_KEY = pytest.StashKey[dict]()


def _ours(item) -> bool:
    return Path(str(item.path)).resolve().parent == _HERE


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if _ours(item):
        item.stash[_LOG_OFFSETS_KEY] = {id(p): p.log_size() for p in [*FakeDC.running, *GatewayProcess.running]}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call") and _ours(item):
        offsets = item.stash.get(_LOG_OFFSETS_KEY, {})
        for dc in list(FakeDC.running):
            state = "running" if dc.alive() else f"exited ({dc.proc.returncode})"
            report.sections.append((f"fake-dc '{dc.name}' stderr during this test [{state}]",
                                    dc.log_tail(120, since=offsets.get(id(dc), 0))))
        for gateway in list(GatewayProcess.running):
            state = "running" if gateway.alive() else f"exited ({gateway.proc.returncode})"
            report.sections.append((f"gateway '{gateway.name}' output during this test [{state}]",
                                    gateway.log_tail(150, since=offsets.get(id(gateway), 0))))


@pytest.fixture(scope="session")
def fake_dc_bin() -> Path:
    return fake_dc_binary()


@pytest.fixture(scope="module")
def fake_dc(tmp_path_factory, fake_dc_bin):
    dc = FakeDC("module", tmp_path_factory.mktemp("fake-dc"), fake_dc_bin).start()
    trust(dc)
    yield dc
    dc.stop()


@pytest.fixture
def fresh_fake_dc(tmp_path, fake_dc_bin):
    dc = FakeDC("fresh", tmp_path / "fake-dc", fake_dc_bin).start()
    trust(dc)
    yield dc
    dc.stop()


@pytest.fixture
def telethon_keys():
    """Telethon's RSA key table (fingerprint → key), restored after the test."""
    saved = dict(telethon_rsa._server_keys)
    yield telethon_rsa._server_keys
    telethon_rsa._server_keys.clear()
    telethon_rsa._server_keys.update(saved)


@pytest.fixture(scope="session", autouse=True)
def telethon_full_length_auth_key():
    """Telethon 1.39 builds the auth key from g_ab with its leading zero bytes stripped
    (`AuthKey(rsa.get_byte_array(gab))`), so when g_ab < 2^2040 (about one handshake in 256) its
    key is 255 bytes, its auth_key_aux_hash differs from the server's 256-byte key (MTProto: the
    2048-bit g_ab, big-endian) and it fails with "Step 3 invalid new nonce hash" (Telethon's own
    retries hide this against Telegram; our clients use connection_retries=0). Left-pad the key
    to 256 bytes, as the protocol defines it, so the handshake tests are deterministic."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(authenticator, "AuthKey", lambda data: AuthKey(bytes(data).rjust(256, b"\0")))
        yield
