"""Hostile bytes on raw TCP sockets (no Telethon) against the fake DC: broken framing, absurd
lengths, truncated or unknown plain messages, random obfuscation headers, a handshake abandoned
halfway. The DC may close the connection or ignore the bytes, but it must never answer garbage
and never die: after each case the process is still running and Telethon still connects and pings.

This module has its own fake-dc process (module-scoped `fake_dc`), apart from the interop tests.
"""

from __future__ import annotations

import os
import random
import socket
import struct
import time

import pytest
from telethon.crypto import Factorization

from fake_dc import abridged_frame, check_serves, plain_message, raw_connect, read_until_closed

REQ_PQ_MULTI = 0xBE7E8EF1
RES_PQ = 0x05162463
REQ_DH_PARAMS = 0xD712E4BE
VECTOR = 0x1CB5C415
# How long a case waits for the DC to react (close, or answer) before calling it "ignored".
REACTION_TIMEOUT = 1.0


def _seeded(seed: int, count: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(count))


def _msg_id() -> int:
    return (int(time.time()) << 32) | 4


# name → bytes sent on a fresh connection (then the DC gets REACTION_TIMEOUT to react).
CASES = {
    "http-request": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "garbage-1000-bytes": _seeded(1, 1000),
    "garbage-3-bytes": b"\x01\x02\x03",
    "abridged-absurd-length": b"\xef\x7f\xff\xff\xff" + bytes(16),
    "abridged-empty-frame": b"\xef\x00",
    "abridged-just-the-tag": b"\xef",
    "intermediate-absurd-length": b"\xee\xee\xee\xee" + struct.pack("<I", 0x7FFFFFFF) + bytes(16),
    "intermediate-unaligned-length": b"\xee\xee\xee\xee" + struct.pack("<I", 5) + bytes(5),
    "padded-intermediate-absurd-length": b"\xdd\xdd\xdd\xdd" + struct.pack("<I", 0xFFFFFFF0) + bytes(16),
    "full-absurd-length": struct.pack("<I", 0xFFFFFFF0) + bytes(16),
    "full-length-below-minimum": struct.pack("<I", 4) + bytes(16),
    "full-bad-crc": struct.pack("<Ii", 12 + 40, 0)
    + plain_message(struct.pack("<I", REQ_PQ_MULTI) + bytes(16)) + b"\xde\xad\xbe\xef",
    "plain-truncated-body": b"\xef" + abridged_frame(struct.pack("<qqi", 0, _msg_id(), 64) + bytes(8)),
    "plain-length-overflow": b"\xef" + abridged_frame(struct.pack("<qqi", 0, _msg_id(), 0x7FFFFFFF) + bytes(8)),
    "plain-negative-length": b"\xef" + abridged_frame(struct.pack("<qqi", 0, _msg_id(), -8) + bytes(8)),
    "plain-header-only": b"\xef" + abridged_frame(struct.pack("<qq", 0, _msg_id()) + b"\0\0\0\0"),
    "plain-unknown-constructor": b"\xef" + abridged_frame(plain_message(struct.pack("<I", 0xDEADBEEF) + bytes(16))),
    "plain-req-pq-short-nonce": b"\xef" + abridged_frame(plain_message(struct.pack("<I", REQ_PQ_MULTI) + bytes(4))),
    "plain-req-dh-params-without-req-pq": b"\xef" + abridged_frame(plain_message(
        struct.pack("<I", REQ_DH_PARAMS) + _seeded(2, 32) + b"\x04\x00\x00\x00\x04\x00\x00\x00"
        + struct.pack("<q", 1) + b"\xfe\x00\x01\x00" + _seeded(3, 256))),
    "random-64-bytes": _seeded(4, 64),
    "random-64-bytes-then-more": _seeded(5, 64) + _seeded(6, 500),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_bytes_are_closed_or_ignored(fake_dc, name):
    with raw_connect(fake_dc) as sock:
        sock.sendall(CASES[name])
        received, _closed = read_until_closed(sock, REACTION_TIMEOUT)
    assert received == b"", f"the DC answered {name!r} with {received[:64].hex()}"
    check_serves(fake_dc)


@pytest.mark.parametrize("seed", range(8))
def test_random_64_bytes_then_close(fake_dc, seed):
    """64 random bytes (the size of an obfuscation header), then the client hangs up at once."""
    with raw_connect(fake_dc) as sock:
        sock.sendall(_seeded(100 + seed, 64))
    check_serves(fake_dc)


def test_connect_and_close_without_a_byte(fake_dc):
    for _ in range(5):
        raw_connect(fake_dc).close()
    with raw_connect(fake_dc) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
    check_serves(fake_dc)


def test_unknown_auth_key_gets_transport_error_404(fake_dc):
    """An encrypted message under an auth_key_id the DC never issued: transport error -404, as
    Telegram answers (then the client must make a new key)."""
    with raw_connect(fake_dc) as sock:
        sock.sendall(b"\xef" + abridged_frame(struct.pack("<q", 0x1234567890ABCDEF) + os.urandom(16 + 32)))
        received, _closed = read_until_closed(sock, 10, enough=5)
    assert received == abridged_frame(struct.pack("<i", -404)), received.hex()
    check_serves(fake_dc)


def _res_pq(reply: bytes) -> tuple[bytes, bytes, bytes, list[int]]:
    """(nonce, server_nonce, pq, fingerprints) of an abridged frame carrying a plain resPQ."""
    words = reply[0]
    assert words < 0x7F and len(reply) == 1 + 4 * words, reply.hex()
    auth_key_id, _msg, length = struct.unpack_from("<qqi", reply, 1)
    assert auth_key_id == 0
    body = reply[21:21 + length]
    assert struct.unpack_from("<I", body)[0] == RES_PQ, body[:4].hex()
    nonce, server_nonce = body[4:20], body[20:36]
    pq_length = body[36]
    pq = body[37:37 + pq_length]
    offset = 36 + (1 + pq_length + 3) // 4 * 4
    vector, count = struct.unpack_from("<Ii", body, offset)
    assert vector == VECTOR
    fingerprints = [struct.unpack_from("<q", body, offset + 8 + 8 * i)[0] for i in range(count)]
    return nonce, server_nonce, pq, fingerprints


def _req_pq_multi(sock: socket.socket, nonce: bytes, byte_by_byte: bool = False) -> bytes:
    request = b"\xef" + abridged_frame(plain_message(struct.pack("<I", REQ_PQ_MULTI) + nonce))
    if byte_by_byte:
        for byte in request:
            sock.sendall(bytes([byte]))
            time.sleep(0.002)
    else:
        sock.sendall(request)
    reply = b""
    deadline = time.monotonic() + 5
    while not reply or len(reply) < 1 + 4 * reply[0]:
        assert time.monotonic() < deadline, f"no complete resPQ within 5 s (got {reply.hex()})"
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        assert chunk, f"the DC closed the connection instead of answering req_pq_multi (got {reply.hex()})"
        reply += chunk
    return reply


@pytest.mark.parametrize("byte_by_byte", [False, True], ids=["one-write", "byte-by-byte"])
def test_raw_req_pq_multi_gets_res_pq(fake_dc, byte_by_byte):
    """The first handshake step by hand (bytes split across TCP segments or not): resPQ echoes our
    nonce and lists the DC's key fingerprint; pq is a product of two primes."""
    nonce = os.urandom(16)
    with raw_connect(fake_dc) as sock:
        nonce_back, server_nonce, pq_bytes, fingerprints = _res_pq(_req_pq_multi(sock, nonce, byte_by_byte))
    assert nonce_back == nonce
    assert len(server_nonce) == 16
    assert int(fake_dc.info.fingerprint, 16) in {fp & 0xFFFF_FFFF_FFFF_FFFF for fp in fingerprints}
    pq = int.from_bytes(pq_bytes, "big")
    p, q = Factorization.factorize(pq)
    assert 1 < p < q and p * q == pq, (pq, p, q)
    check_serves(fake_dc)


def test_handshake_abandoned_after_res_pq_then_garbage(fake_dc):
    """req_pq_multi, then a req_DH_params with the right nonces but garbage inside."""
    nonce = os.urandom(16)
    with raw_connect(fake_dc) as sock:
        _, server_nonce, _, fingerprints = _res_pq(_req_pq_multi(sock, nonce))
        body = (struct.pack("<I", REQ_DH_PARAMS) + nonce + server_nonce + b"\x04" + bytes(4) + b"\0\0\0"
                + b"\x04" + bytes(4) + b"\0\0\0" + struct.pack("<q", fingerprints[0])
                + b"\xfe\x00\x01\x00" + os.urandom(256))
        sock.sendall(abridged_frame(plain_message(body)))
        received, _closed = read_until_closed(sock, REACTION_TIMEOUT)
    assert received == b"", f"the DC answered a garbage req_DH_params with {received[:64].hex()}"
    with raw_connect(fake_dc) as sock:
        _req_pq_multi(sock, os.urandom(16))  # and then simply hang up mid-handshake
    check_serves(fake_dc)


def test_many_hostile_connections_at_once(fake_dc):
    socks = []
    try:
        for n in range(64):
            sock = raw_connect(fake_dc)
            socks.append(sock)
            sock.sendall([b"\xef", b"\xee\xee\xee\xee", _seeded(200 + n, 64), b"\xef\x7f\xff\xff"][n % 4])
    finally:
        for sock in socks:
            sock.close()
    check_serves(fake_dc)
    check_serves(fake_dc, "obfuscated")
