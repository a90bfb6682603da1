"""The Telegram plugin under failure, through the real gateway process and `fake-dc --world`:

- the gateway is killed (SIGKILL) while messages keep arriving, then restarted: every message is
  stored exactly once (the session and update state survive; getDifference fills the gap; the
  store deduplicates what is fetched twice);
- the network to Telegram is cut for 60 s: the account turns `error` after its reconnect
  attempts, comes back `connected` by itself, and what arrived meanwhile is stored exactly once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from fake_dc import FakeWorld
from polling import eventually
from test_gateway_e2e import Api, gateway_config, log_in, new_phone, start_gateway, telegram_gateway_binary
from gateway_process import GatewayProcess


@pytest.fixture(scope="module")
def world(tmp_path_factory, fake_dc_bin):
    dc = FakeWorld("resilience-world", tmp_path_factory.mktemp("resilience-world"), fake_dc_bin).start()
    yield dc
    dc.stop()


def texts(api: Api, account_id: str, prefix: str) -> Counter:
    return Counter(m["content"] for m in api.messages(account_id) if m["content"].startswith(prefix))


def test_kill_9_while_messages_arrive_stores_each_exactly_once(tmp_path, world):
    work = tmp_path / "gateway"
    gateway = start_gateway("telegram-kill", work, world)
    try:
        api = Api(gateway)
        phone = new_phone()
        ann = world.add_user(phone, "Ann")["userId"]
        bob = world.add_user(new_phone(), "Bob")["userId"]
        account = log_in(api, world, phone)
        count = 120
        sent: list[str] = []

        def burst() -> None:
            for index in range(count):
                text = f"burst-{index:03d}"
                world.deliver(bob, ann, text)
                sent.append(text)
                time.sleep(0.02)

        sender = threading.Thread(target=burst, daemon=True)
        sender.start()
        eventually(lambda: sum(texts(api, account["id"], "burst-").values()) >= 20, timeout=30, interval=0.05,
                   what="the first messages of the burst to be stored")
        assert gateway.proc is not None
        gateway.proc.kill()  # SIGKILL: no shutdown, no flush
        gateway.proc.wait(timeout=10)
        sender.join(timeout=60)
        assert len(sent) == count, "the world did not take every delivery"
        gateway.start()

        def all_stored():
            found = texts(api, account["id"], "burst-")
            return found if len(found) == count else None

        found = eventually(all_stored, timeout=60, interval=0.2, what=f"all {count} messages to be stored",
                           last=lambda: sorted(set(sent) - set(texts(api, account["id"], "burst-"))))
        time.sleep(2)
        found = texts(api, account["id"], "burst-")
        assert set(found) == set(sent)
        assert all(value == 1 for value in found.values()), {k: v for k, v in found.items() if v != 1}
    finally:
        gateway.stop()


def test_a_60_second_outage_reconnects_and_catches_up(tmp_path, world):
    binary = telegram_gateway_binary()
    work = tmp_path / "gateway"
    config = gateway_config(work, binary, world)
    # Two quick reconnects, then a retry every 10 s: the account must show `error` during the cut.
    config["plugins"][0]["config"].update({"reconnect_attempts": 2, "retry_interval_seconds": 10})
    gateway = GatewayProcess("telegram-outage", work, config, binary).start()
    try:
        api = Api(gateway)
        phone = new_phone()
        cy = world.add_user(phone, "Cy")["userId"]
        dee = world.add_user(new_phone(), "Dee")["userId"]
        account = log_in(api, world, phone)
        world.command("outage", seconds=60)
        started = time.monotonic()
        api.wait_status(account["id"], "error", timeout=45)
        for index in range(3):
            world.deliver(dee, cy, f"during the outage {index}")
        api.wait_status(account["id"], "connected", timeout=100)
        assert time.monotonic() - started >= 55, "reconnected while the DC was still refusing connections"
        for index in range(3):
            text = f"during the outage {index}"
            eventually(lambda text=text: texts(api, account["id"], text)[text] == 1 or None, timeout=30, interval=0.2,
                       what=f"{text!r} to be stored")
        time.sleep(2)
        assert all(texts(api, account["id"], f"during the outage {i}")[f"during the outage {i}"] == 1 for i in range(3))
        world.deliver(dee, cy, "after the outage")
        eventually(lambda: texts(api, account["id"], "after the outage")["after the outage"] == 1 or None,
                   timeout=30, interval=0.2, what="a live message after the outage")
    finally:
        gateway.stop()
