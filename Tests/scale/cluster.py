"""Three gateway processes (A, B, C) in cluster mode on one PostgreSQL database and one Redis:
what the scale-out tests start, and how they read the lease table."""

from __future__ import annotations

import base64
import re
import signal
from pathlib import Path

from bus_consumer import EXCHANGE, PUBLISH_EVERYTHING
from hub_harness import GatewayProcess
from polling import eventually

LEASE_SECONDS = 3
RENEW_SECONDS = LEASE_SECONDS / 3
# How long a dead owner's account may stay undriven: its lease runs out, then the next scan of a
# survivor (every RENEW_SECONDS) takes it. The slack covers a debug build on a loaded 2-core machine.
TAKEOVER_BOUND = LEASE_SECONDS + RENEW_SECONDS
TAKEOVER_SLACK = 2.0
# Plugin state (Telegram sessions) is shared through PostgreSQL, so every instance has the same key.
STATE_KEY = base64.b64encode(bytes(range(32))).decode()
_UUID = re.compile(r"^[0-9a-f-]{36}$")


class Cluster:
    killed: list[GatewayProcess] = []

    def __init__(self, gateways: list[GatewayProcess], postgres, database: str):
        self.gateways = gateways
        self.postgres = postgres
        self.database = database

    @classmethod
    def start(cls, work: Path, binary: Path, postgres, redis, rabbitmq_url: str, extra_plugins: list[dict]) -> "Cluster":
        url = postgres.create_database("scale")
        database = url.rsplit("/", 1)[1].split("?", 1)[0]
        gateways: list[GatewayProcess] = []
        try:
            for name in ("A", "B", "C"):
                gateway = GatewayProcess(name, work / name, binary, {"redis": {"url": redis.url}})
                gateway.config["storage"] = {"postgres": {"url": url}, "state_key": STATE_KEY}
                gateway.config["cluster"] = {"instance_id": name, "lease_seconds": LEASE_SECONDS}
                gateway.config["plugins"] = gateway.config["plugins"] + extra_plugins
                # Every event also goes to RabbitMQ through the shared store's outbox.
                gateway.config["bus"] = {"rabbitmq": {"url": rabbitmq_url, "exchange": EXCHANGE}}
                gateway.config["routes"] = PUBLISH_EVERYTHING
                gateways.append(gateway.start())
        except BaseException:
            for gateway in gateways:
                gateway.stop()
            raise
        return cls(gateways, postgres, database)

    def stop(self) -> None:
        for gateway in self.gateways:
            gateway.stop()

    def by_name(self, name: str) -> GatewayProcess:
        return next(g for g in self.gateways if g.name == name)

    def sql(self, query: str) -> list[list[str]]:
        out = self.postgres.psql(query, self.database)
        return [line.split("|") for line in out.splitlines() if line]

    def lease(self, account_id: str) -> dict | None:
        assert _UUID.match(account_id), account_id
        rows = self.sql("SELECT owner_id, owner_url, epoch, expires_at > now() FROM account_leases "
                        f"WHERE account_id = '{account_id}'")
        if not rows:
            return None
        owner, url, epoch, live = rows[0]
        return {"owner": owner, "url": url, "epoch": int(epoch), "live": live == "t"}

    def owner(self, account_id: str, *, timeout: float = 10, other_than: str | None = None) -> GatewayProcess:
        """The gateway holding the account's live lease (waits until one does)."""
        def find():
            lease = self.lease(account_id)
            if lease and lease["live"] and lease["owner"] != other_than:
                return lease
            return None
        lease = eventually(find, timeout=timeout, interval=0.05, what=f"a live lease of account {account_id}",
                           last=lambda: self.lease(account_id))
        gateway = self.by_name(lease["owner"])
        assert lease["url"] == gateway.base_url, (lease, gateway.base_url)
        return gateway

    def kill(self, gateway: GatewayProcess) -> None:
        """SIGKILL: no shutdown, no lease released, nothing flushed."""
        assert gateway.proc is not None
        gateway.proc.send_signal(signal.SIGKILL)
        gateway.proc.wait(timeout=10)
        if gateway in GatewayProcess.running:
            GatewayProcess.running.remove(gateway)
        Cluster.killed.append(gateway)

    def survivors(self) -> list[GatewayProcess]:
        return [g for g in self.gateways if g.alive()]
