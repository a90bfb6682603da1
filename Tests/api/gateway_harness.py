"""Starts real gateway processes and talks to them over HTTP (127.0.0.1 only).

Everything here is bounded in time: every request has a 10 s timeout, every wait has a deadline,
and a gateway that does not answer /health within 60 s fails the test that needed it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

import jwt
import pytest
import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from gateway_process import GatewayProcess, free_port, gateway_binary  # noqa: E402,F401 (re-exported)
from polling import eventually  # noqa: E402,F401 (re-exported)
from postgres_server import storage_config, store_backend  # noqa: E402,F401 (re-exported)

REPO = Path(__file__).resolve().parents[2]
OPENAPI_PATH = REPO / "docs" / "openapi.yaml"
REQUEST_TIMEOUT = 10
# 40 characters: HS256 needs at least 32 bytes (RFC 7518 §3.2).
JWT_SECRET = "api-tests-secret-0123456789-abcdefghijkl"
assert len(JWT_SECRET) == 40


ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")



# --------------------------------------------------------------------------------------------
# Configuration


def base_config(
    work: Path,
    binary: Path,
    *,
    rate_limit: int = 100_000,
    loopback_config: dict | None = None,
    routes: list | None = None,
    auth: dict | None = None,
    extra: dict | None = None,
) -> dict:
    """A gateway.yaml as a dict: the test store (see storage_config), both plugins, store + hub for everything."""
    config: dict[str, Any] = {
        "version": 1,
        "server": {"host": "127.0.0.1", "cors_origin": "*", "body_limit": "64kb"},
        "auth": auth if auth is not None else {"jwt": {"secret": JWT_SECRET}},
        # SQLite under `work`, or a database of its own on the session's PostgreSQL server when
        # GATEWAY_TEST_STORE=postgres (Tests/support/postgres_server.py).
        "storage": storage_config(work),
        "api": {"rate_limit_per_minute": rate_limit},
        "webhooks": {"initial_backoff_ms": 50},
        "plugins": [
            {"name": "loopback", "path": str(binary.parent / "libLoopbackChannel.so"), "config": loopback_config or {}},
            {"name": "c-echo", "path": str(binary.parent / "libCEchoChannel.so")},
        ],
        "routes": routes if routes is not None else [{"name": "everything", "match": {}, "to": ["store", "hub"]}],
        "metrics": {"public": True},
        "logging": {"level": "info"},
    }
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


# The main gateway's seed: the loopback plugin declares this account and emits this burst at start.
SEED_ORG = "org-seed"
SEED_ACCOUNT = "seed-acc"
SEED_COUNT = 300
SEED_CHATS = 6


# --------------------------------------------------------------------------------------------
# Process: the shared harness in Tests/support


def start_gateway(name: str, tmp_path_factory, binary: Path, **config_kw) -> GatewayProcess:
    """Starts a gateway configured by base_config(**config_kw) in a fresh temporary directory."""
    work = tmp_path_factory.mktemp(name)
    return GatewayProcess(name, work, base_config(work, binary, **config_kw), binary).start()


# --------------------------------------------------------------------------------------------
# Tokens


def now_ts() -> int:
    return int(time.time())


def make_token(
    org: str,
    role: str | None = "admin",
    *,
    sub: str | None = None,
    email: str | None = None,
    secret: str | bytes = JWT_SECRET,
    algorithm: str = "HS256",
    key: Any = None,
    exp_in: int = 3600,
    omit: Iterable[str] = (),
    **extra: Any,
) -> str:
    """A JWT with the claims of the original services: sub, organizationId, email, role, iat, exp."""
    user = sub or f"user-{org}-{role or 'none'}"
    claims: dict[str, Any] = {
        "sub": user,
        "organizationId": org,
        "email": email or f"{user}@example.test",
        "role": role,
        "iat": now_ts(),
        "exp": now_ts() + exp_in,
    }
    if role is None:
        del claims["role"]
    claims.update(extra)
    for name in omit:
        claims.pop(name, None)
    return jwt.encode(claims, key if key is not None else secret, algorithm=algorithm)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict, claims: dict, signature: bytes | str = b"") -> str:
    """A token assembled by hand (for alg:none and forged signatures)."""
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = signature if isinstance(signature, str) else b64url(signature)
    return f"{head}.{body}.{sig}"


def hs256_token_with_key_bytes(key: bytes, claims: dict) -> str:
    """HS256 signed with arbitrary bytes as the secret (PyJWT refuses PEM keys as HMAC secrets)."""
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def standard_claims(org: str, role: str = "admin", **extra: Any) -> dict:
    claims = {
        "sub": f"user-{org}", "organizationId": org, "email": f"user-{org}@example.test", "role": role,
        "iat": now_ts(), "exp": now_ts() + 3600,
    }
    claims.update(extra)
    return claims


# --------------------------------------------------------------------------------------------
# HTTP


class Reply:
    def __init__(self, response: requests.Response):
        self.response = response
        self.status = response.status_code
        self.headers = response.headers
        self.text = response.text
        try:
            self.json = response.json() if response.content else None
        except ValueError:
            self.json = None

    def __repr__(self) -> str:
        return f"<{self.response.request.method} {self.response.request.path_url} -> {self.status}: {self.text[:500]}>"


def assert_error_shape(reply: Reply, code: str | Iterable[str] | None = None, field: str | None = None) -> dict:
    """`{"error": {"code", "message", "details"?}}`; optionally the code and details.field."""
    body = reply.json
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), f"not the error shape: {reply!r}"
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], f"error.code missing: {reply!r}"
    assert isinstance(error.get("message"), str), f"error.message missing: {reply!r}"
    if "details" in error and error["details"] is not None:
        assert isinstance(error["details"], dict), f"error.details must be an object: {reply!r}"
    content_type = reply.headers.get("Content-Type", "")
    assert "application/json" in content_type, f"error without a JSON content type ({content_type}): {reply!r}"
    if code is not None:
        codes = {code} if isinstance(code, str) else set(code)
        assert error["code"] in codes, f"expected error code {sorted(codes)}, got {error['code']}: {reply!r}"
    if field is not None:
        details = error.get("details") or {}
        assert details.get("field") == field, f"expected details.field == {field!r}: {reply!r}"
    return error


class Client:
    """Requests against one gateway; every answer is checked: no 5xx unless asked for, errors in the
    error shape, and the expected status when given."""

    def __init__(self, gateway: GatewayProcess, token: str | None = None):
        self.gateway = gateway
        self.token = token
        self.session = requests.Session()
        self.session.trust_env = False  # never through a proxy: 127.0.0.1 only

    def with_token(self, token: str | None) -> "Client":
        return Client(self.gateway, token)

    def request(
        self,
        method: str,
        path: str,
        *,
        expect: int | Iterable[int] | None = None,
        json_body: Any = None,
        data: bytes | str | None = None,
        params: Any = None,
        headers: dict | None = None,
        token: Any = ...,
        allow_5xx: Iterable[int] = (),
    ) -> Reply:
        all_headers = dict(headers or {})
        use_token = self.token if token is ... else token
        if use_token is not None and "Authorization" not in all_headers:
            all_headers["Authorization"] = f"Bearer {use_token}"
        if json_body is not None:
            data = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        try:
            response = self.session.request(
                method, self.gateway.base_url + path, data=data, params=params, headers=all_headers,
                timeout=REQUEST_TIMEOUT, allow_redirects=False,
            )
        except requests.RequestException as error:
            state = "running" if self.gateway.alive() else f"EXITED with status {self.gateway.proc.returncode}"
            pytest.fail(
                f"{method} {path} failed: {error!r} (gateway '{self.gateway.name}' {state})\n"
                f"--- gateway output (tail) ---\n{self.gateway.log_tail(60)}",
                pytrace=False,
            )
        reply = Reply(response)
        allowed = set(allow_5xx)
        if expect is not None:
            expected = {expect} if isinstance(expect, int) else set(expect)
            allowed |= {s for s in expected if s >= 500}
        assert reply.status < 500 or reply.status in allowed, f"server error: {reply!r}"
        if expect is not None:
            assert reply.status in expected, f"expected {sorted(expected)}: {reply!r}"
        if reply.status >= 400 and method != "HEAD":
            assert_error_shape(reply)
        return reply

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.request("DELETE", path, **kw)

    # ---- API helpers -------------------------------------------------------------------

    def messages(self, **params: Any) -> dict:
        return self.get("/api/messaging/messages", params=params, expect=200).json

    def all_messages(self, **params: Any) -> list[dict]:
        """Every message matching the filters, walking the cursor (bounded)."""
        params = {**params, "limit": 200}
        out: list[dict] = []
        for _ in range(200):
            page = self.messages(**params)
            out.extend(page["messages"])
            pagination = page["pagination"]
            if not pagination.get("hasMore"):
                return out
            assert pagination.get("nextCursor"), f"hasMore without nextCursor: {pagination}"
            params["cursor"] = pagination["nextCursor"]
        pytest.fail("cursor walk did not end after 200 pages")

    def chats(self, **params: Any) -> dict:
        return self.get("/api/messaging/chats", params=params, expect=200).json

    def account(self, account_id: str) -> dict:
        return self.get(f"/api/bd-accounts/{account_id}", expect=200).json

    def connect(self, body: dict, expect: Any = 202) -> Reply:
        return self.post("/api/bd-accounts/connect", body, expect=expect)

    def connect_loopback(self, wait_for: str = "connected", **body: Any) -> dict:
        """Connects a loopback account and waits until it reaches `wait_for`."""
        reply = self.connect({"platform": "loopback", **body})
        account = reply.json
        assert account["status"] in {"connecting", "awaiting_code", "awaiting_password", "connected"}, account
        return self.wait_account_status(account["id"], wait_for)

    def wait_account_status(self, account_id: str, status: str, timeout: float = 10) -> dict:
        return eventually(
            lambda: (lambda a: a if a["status"] == status else None)(self.account(account_id)),
            timeout=timeout,
            what=f"account {account_id} to become {status}",
            last=lambda: self.account(account_id),
        )

    def send(self, account: dict, chat: str, text: str, *, key: str | None = None, expect: Any = 201,
             channel: str | None = None, **extra: Any) -> Reply:
        body = {"channel": channel or account["platform"], "channelId": chat, "content": text,
                "bdAccountId": account["id"], **extra}
        if key is not None:
            body["idempotencyKey"] = key
        return self.post("/api/messaging/send", body, expect=expect)


def client_for(gateway: GatewayProcess, org: str, role: str | None = "admin", **claims: Any) -> Client:
    """A client with a token of `org` and `role`; its organization id is `.org`."""
    client = Client(gateway, make_token(org, role, **claims))
    client.org = org  # type: ignore[attr-defined]
    return client


def assert_iso_ms(value: Any, what: str = "timestamp") -> dt.datetime:
    assert isinstance(value, str) and ISO_MS.match(value), f"{what} is not ISO-8601 with milliseconds: {value!r}"
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------------------------
# OpenAPI schemas, for checking answers against docs/openapi.yaml


_OPENAPI: dict | None = None
_OPENAPI_LOCK = threading.Lock()


def openapi_document() -> dict:
    global _OPENAPI
    with _OPENAPI_LOCK:
        if _OPENAPI is None:
            if not OPENAPI_PATH.is_file():
                pytest.fail(f"{OPENAPI_PATH} is missing", pytrace=False)
            _OPENAPI = yaml.safe_load(OPENAPI_PATH.read_text())
        return _OPENAPI


def assert_schema(instance: Any, schema_name: str) -> None:
    """Validates `instance` against components.schemas[schema_name] of docs/openapi.yaml."""
    import jsonschema

    document = openapi_document()
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": document["components"],
            "$ref": f"#/components/schemas/{schema_name}"}
    validator = jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"- at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:10]]
        pytest.fail(f"answer does not match schema {schema_name}:\n" + "\n".join(lines) +
                    f"\ninstance: {json.dumps(instance)[:2000]}", pytrace=False)
