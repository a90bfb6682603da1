"""Authentication (HS256, RS256 public key, issuer/audience) and roles."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway_harness import (
    JWT_SECRET,
    Client,
    assert_error_shape,
    client_for,
    hs256_token_with_key_bytes,
    make_token,
    now_ts,
    raw_token,
    standard_claims,
    start_gateway,
    unique,
)

# Every /api operation, with a harmless body where it takes one.
API_OPERATIONS = [
    ("POST", "/api/bd-accounts/connect", {"platform": "loopback"}),
    ("GET", "/api/bd-accounts", None),
    ("GET", "/api/bd-accounts/some-id", None),
    ("GET", "/api/bd-accounts/some-id/status", None),
    ("GET", "/api/bd-accounts/some-id/dialogs", None),
    ("POST", "/api/bd-accounts/some-id/code", {"phoneCode": "12345"}),
    ("POST", "/api/bd-accounts/some-id/password", {"password": "secret"}),
    ("POST", "/api/bd-accounts/some-id/disconnect", None),
    ("POST", "/api/bd-accounts/some-id/send", {"chatId": "c", "content": "x"}),
    ("DELETE", "/api/bd-accounts/some-id", None),
    ("GET", "/api/messaging/messages", None),
    ("GET", "/api/messaging/messages/00000000-0000-7000-8000-000000000000", None),
    ("POST", "/api/messaging/send", {"channel": "loopback", "channelId": "c", "content": "x", "bdAccountId": "a"}),
    ("GET", "/api/messaging/chats", None),
    ("POST", "/api/messaging/chats/c/mark-all-read", None),
    ("GET", "/api/messaging/stats", None),
    ("GET", "/api/webhooks/failures", None),
    ("POST", "/api/webhooks/failures/some-id/replay", None),
]


def assert_401(client: Client, token=None, headers=None, operations=API_OPERATIONS):
    for method, path, body in operations:
        reply = client.request(method, path, json_body=body, token=token, headers=headers, expect=401)
        assert_error_shape(reply, "unauthorized")


# ------------------------------------------------------------------------------------- HS256


def test_missing_token_is_401_everywhere(api):
    assert_401(api, token=None)


@pytest.mark.parametrize("authorization", [
    "Bearer", "Bearer ", "Bearer garbage", "Bearer a.b.c", "Bearer ...", "Basic dXNlcjpwYXNz", "garbage",
    "Bearer eyJhbGciOiJIUzI1NiJ9", "Bearer " + "A" * 5000,
])
def test_malformed_authorization_is_401(api, authorization):
    assert_401(api, headers={"Authorization": authorization}, operations=API_OPERATIONS[:2] + API_OPERATIONS[10:12])


def test_valid_token_is_accepted(api):
    client = api.with_token(make_token(unique("org-auth")))
    client.get("/api/bd-accounts", expect=200)
    client.get("/api/messaging/messages", expect=200)


def test_id_claim_instead_of_sub(api):
    token = make_token(unique("org-auth"), omit=["sub"], id="legacy-user")
    api.with_token(token).get("/api/bd-accounts", expect=200)


def test_wrong_secret_is_401(api):
    token = make_token(unique("org-auth"), secret="another-secret-that-is-long-enough-0123456")
    assert_401(api, token=token)


def test_expired_token_is_401(api):
    token = make_token(unique("org-auth"), exp_in=-600, iat=now_ts() - 1200)
    assert_401(api, token=token)


def test_not_yet_valid_token_is_401(api):
    token = make_token(unique("org-auth"), nbf=now_ts() + 600)
    assert_401(api, token=token)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_401(api, alg):
    claims = standard_claims(unique("org-auth"))
    assert_401(api, token=raw_token({"alg": alg, "typ": "JWT"}, claims), operations=API_OPERATIONS[:2])
    assert_401(api, token=raw_token({"alg": alg, "typ": "JWT"}, claims) + "x", operations=API_OPERATIONS[1:2])


def test_tampered_payload_is_401(api):
    # A valid token of one organization with the payload swapped for another's.
    good = make_token("org-victim-tamper")
    head, _, signature = good.split(".")
    forged_body = raw_token({"alg": "HS256"}, standard_claims("org-attacker-tamper")).split(".")[1]
    assert_401(api, token=f"{head}.{forged_body}.{signature}")


def test_token_without_organization_is_401(api):
    assert_401(api, token=make_token(unique("org-auth"), omit=["organizationId"]), operations=API_OPERATIONS[1:2])


def test_hs256_token_signed_with_an_empty_secret_is_401(api):
    claims = standard_claims(unique("org-auth"))
    assert_401(api, token=hs256_token_with_key_bytes(b"", claims), operations=API_OPERATIONS[1:2])


# -------------------------------------------------------------------------------------- roles


ADMIN_ONLY = [
    ("POST", "/api/bd-accounts/connect", {"platform": "loopback"}),
    ("POST", "/api/bd-accounts/{id}/code", {"phoneCode": "12345"}),
    ("POST", "/api/bd-accounts/{id}/password", {"password": "secret"}),
    ("POST", "/api/bd-accounts/{id}/disconnect", None),
    ("DELETE", "/api/bd-accounts/{id}", None),
    ("GET", "/api/webhooks/failures", None),
]


@pytest.mark.parametrize("role", ["agent", "user", "manager", None])
def test_non_admin_gets_403_but_reads_and_sends(api_main_gateway, role):
    org_id = unique("org-roles")
    admin = client_for(api_main_gateway, org_id, "admin")
    member = client_for(api_main_gateway, org_id, role, sub=unique("member"))
    account = admin.connect_loopback()
    awaiting = admin.connect({"platform": "loopback", "config": {"requireCode": True}}).json
    admin.wait_account_status(awaiting["id"], "awaiting_code")
    for method, path, body in ADMIN_ONLY:
        target = awaiting["id"] if "/code" in path or "/password" in path else account["id"]
        reply = member.request(method, path.replace("{id}", target), json_body=body, expect=403)
        assert_error_shape(reply, "forbidden")
    reply = member.post(f"/api/webhooks/failures/{unique('f')}/replay", expect=(403,))
    assert_error_shape(reply, "forbidden")
    # Nothing changed.
    assert admin.account(account["id"])["status"] == "connected"
    assert admin.account(awaiting["id"])["status"] == "awaiting_code"
    assert len(admin.get("/api/bd-accounts", expect=200).json["accounts"]) == 2
    # Every other role reads and sends.
    assert {a["id"] for a in member.get("/api/bd-accounts", expect=200).json["accounts"]} == {account["id"],
                                                                                               awaiting["id"]}
    member.get(f"/api/bd-accounts/{account['id']}", expect=200)
    member.get(f"/api/bd-accounts/{account['id']}/status", expect=200)
    sent = member.send(account, "role-chat", "from a member", expect=201).json
    member.get(f"/api/messaging/messages/{sent['id']}", expect=200)
    member.get("/api/messaging/chats", expect=200)
    member.get("/api/messaging/stats", expect=200)
    member.post(f"/api/bd-accounts/{account['id']}/send", {"chatId": "role-chat", "content": "again"}, expect=201)
    member.post("/api/messaging/chats/role-chat/mark-all-read", expect=200)


# --------------------------------------------------------------------------- RSA public key


@pytest.fixture(scope="module")
def rsa_keys(tmp_path_factory):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    path = tmp_path_factory.mktemp("keys") / "jwt-public.pem"
    path.write_bytes(public_pem)
    return {"private": private_pem, "public": public_pem, "path": path}


@pytest.fixture(scope="module")
def rsa_gateway(tmp_path_factory, api_gateway_bin, rsa_keys):
    gateway = start_gateway("rsa", tmp_path_factory, api_gateway_bin, auth={"jwt": {"public_key": str(rsa_keys["path"])}})
    yield gateway
    gateway.stop()


def test_rs256_token_is_accepted(rsa_gateway, rsa_keys):
    token = jwt.encode(standard_claims(unique("org-rsa")), rsa_keys["private"], algorithm="RS256")
    Client(rsa_gateway, token).get("/api/bd-accounts", expect=200)
    Client(rsa_gateway, token).get("/api/messaging/messages", expect=200)


def test_algorithm_confusion_is_401(rsa_gateway, rsa_keys):
    """HS256 signed with the server's RSA public key (PEM text) as the HMAC secret."""
    claims = standard_claims(unique("org-rsa"))
    client = Client(rsa_gateway)
    for key in (rsa_keys["public"], rsa_keys["public"].strip(), rsa_keys["path"].read_text().encode()):
        assert_401(client, token=hs256_token_with_key_bytes(key, claims), operations=API_OPERATIONS[:2])


def test_rsa_gateway_rejects_hs256_with_any_secret(rsa_gateway):
    token = make_token(unique("org-rsa"), secret=JWT_SECRET)
    assert_401(Client(rsa_gateway), token=token, operations=API_OPERATIONS[1:2])


def test_rs256_signed_by_another_key_is_401(rsa_gateway):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(standard_claims(unique("org-rsa")), other, algorithm="RS256")
    assert_401(Client(rsa_gateway), token=token, operations=API_OPERATIONS[1:2])


def test_es256_token_is_401_on_an_rsa_key(rsa_gateway):
    token = jwt.encode(standard_claims(unique("org-rsa")), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    assert_401(Client(rsa_gateway), token=token, operations=API_OPERATIONS[1:2])


def test_rs256_alg_none_and_expired_are_401(rsa_gateway, rsa_keys):
    client = Client(rsa_gateway)
    assert_401(client, token=raw_token({"alg": "none", "typ": "JWT"}, standard_claims("org-rsa")),
               operations=API_OPERATIONS[1:2])
    expired = jwt.encode(standard_claims("org-rsa", exp=now_ts() - 600), rsa_keys["private"], algorithm="RS256")
    assert_401(client, token=expired, operations=API_OPERATIONS[1:2])
    early = jwt.encode(standard_claims("org-rsa", nbf=now_ts() + 600), rsa_keys["private"], algorithm="RS256")
    assert_401(client, token=early, operations=API_OPERATIONS[1:2])


# ---------------------------------------------------------------------- issuer and audience

ISSUER = "https://auth.example.test/"
AUDIENCE = "channel-gateway-tests"


@pytest.fixture(scope="module")
def issuer_gateway(tmp_path_factory, api_gateway_bin):
    gateway = start_gateway(
        "issuer", tmp_path_factory, api_gateway_bin,
        auth={"jwt": {"secret": JWT_SECRET, "issuer": ISSUER, "audience": AUDIENCE}},
        extra={"metrics": {"public": False}},
    )
    yield gateway
    gateway.stop()


def test_issuer_and_audience_accepted(issuer_gateway):
    org_id = unique("org-iss")
    Client(issuer_gateway, make_token(org_id, iss=ISSUER, aud=AUDIENCE)).get("/api/bd-accounts", expect=200)
    Client(issuer_gateway, make_token(org_id, iss=ISSUER, aud=["someone-else", AUDIENCE])).get(
        "/api/bd-accounts", expect=200)


@pytest.mark.parametrize("claims", [
    {"iss": "https://evil.example.test/", "aud": AUDIENCE},
    {"iss": ISSUER, "aud": "another-audience"},
    {"iss": ISSUER, "aud": ["a", "b"]},
    {"aud": AUDIENCE},
    {"iss": ISSUER},
    {},
], ids=["wrong-iss", "wrong-aud", "aud-list-without", "no-iss", "no-aud", "neither"])
def test_issuer_or_audience_mismatch_is_401(issuer_gateway, claims):
    token = make_token(unique("org-iss"), **claims)
    assert_401(Client(issuer_gateway), token=token, operations=API_OPERATIONS[:2] + API_OPERATIONS[10:11])


def test_private_metrics_need_a_token(issuer_gateway):
    client = Client(issuer_gateway)
    assert_error_shape(client.get("/metrics", token=None, expect=401), "unauthorized")
    assert_error_shape(client.get("/metrics", token="garbage", expect=401), "unauthorized")
    reply = client.get("/metrics", token=make_token(unique("org-iss"), iss=ISSUER, aud=AUDIENCE), expect=200)
    assert reply.headers.get("Content-Type", "").startswith("text/plain")
    # /health stays public.
    client.get("/health", token=None, expect=200)
