"""The peer reference for the hub benchmark: python-socketio's own server on aiohttp.

Plain `socketio.AsyncServer(async_mode="aiohttp")` in its default setup (standard asyncio loop,
one process, logging off). It accepts the gateway's auth payload (`{token}`: HS256 JWT with sub,
organizationId, role, exp), joins each client to `org:<organizationId>` and `user:<sub>`, and
sends it a `connected` event, like the gateway. `POST /send` (Bearer JWT, body
`{content, ...}`, like the gateway's POST /api/messaging/send) broadcasts the two events one
gateway send produces — MESSAGE_SENT with `data.content = content` and MESSAGE_RECEIVED with
`data.content = "echo: " + content` — to the caller's org room, using real gateway event JSON as
the template (same fields and size, with an increasing `offset`).

    python3 peer_server.py --port 4001 --secret <secret>      (listens on 127.0.0.1 only)
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import itertools
import uuid

import jwt
import socketio
from aiohttp import web

# One MESSAGE_SENT and one MESSAGE_RECEIVED exactly as the gateway emitted them (hub_bench run).
SENT_TEMPLATE = {
    "type": "MESSAGE_SENT", "organizationId": "bench", "timestamp": "2026-11-25T09:43:33.538Z",
    "id": "500E7DF5-04B7-4E10-9A68-C0873C154BB8",
    "data": {
        "idempotencyKey": "1ea5f55c-b576-4428-b668-e2d3608820c3", "direction": "outbound", "externalId": "out-1",
        "status": "sent", "bdAccountId": "c6c3ee11-896e-4756-81a3-8de99ada01d7", "createdAt": "2026-11-25T09:43:33.537Z",
        "channelId": "bench", "isRead": True, "chatId": "bench", "content": "1795599813.535311", "organizationId": "bench",
        "sentAt": "2026-11-25T09:43:33.538Z", "id": "01a21216-cba1-73cf-ad0c-380dffe94dc8", "channel": "loopback",
        "attachments": [],
    },
}
RECEIVED_TEMPLATE = {
    "type": "MESSAGE_RECEIVED", "timestamp": "2026-11-25T09:43:33.539Z", "organizationId": "bench",
    "id": "56DE4A7E-79A7-4DD2-83AC-9E56C8467D94",
    "data": {
        "content": "echo: 1795599813.535311", "contactId": "bench", "status": "delivered", "organizationId": "bench",
        "direction": "inbound", "isRead": False, "id": "01a21216-cba3-784d-a6fd-5f8f5f1c964c",
        "metadata": {"replyTo": "out-1"}, "channelId": "bench", "attachments": [], "channel": "loopback",
        "externalId": "echo-out-1", "sentAt": "2026-11-25T09:43:33.538Z", "contact": {"id": "bench", "name": "Loopback peer bench"},
        "chatId": "bench", "bdAccountId": "c6c3ee11-896e-4756-81a3-8de99ada01d7", "createdAt": "2026-11-25T09:43:33.538Z",
    },
}


def build_app(secret: str) -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*", logger=False, engineio_logger=False)
    app = web.Application()
    sio.attach(app)
    offsets = itertools.count(int(dt.datetime.now().timestamp() * 1_000_000))
    counter = itertools.count(1)

    def verify(token: object) -> dict:
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError("Authentication token required")
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"])
        except jwt.PyJWTError as error:
            raise socketio.exceptions.ConnectionRefusedError(f"Invalid token: {error}")
        if not claims.get("organizationId") or not (claims.get("sub") or claims.get("id")):
            raise socketio.exceptions.ConnectionRefusedError("Invalid token: missing claims")
        return claims

    @sio.event
    async def connect(sid, environ, auth):
        claims = verify((auth or {}).get("token"))
        organization = claims["organizationId"]
        user = claims.get("sub") or claims.get("id")
        await sio.enter_room(sid, f"org:{organization}")
        await sio.enter_room(sid, f"user:{user}")
        # After the CONNECT packet, like the gateway's `connected` event.
        sio.start_background_task(sio.emit, "connected", {
            "userId": user, "organizationId": organization, "email": claims.get("email"), "role": claims.get("role"),
            "socketId": sid, "recovered": False,
        }, to=sid)

    @sio.event
    async def pong(sid, *args):  # the gateway's application heartbeat answer; nothing to do here
        return None

    def now_iso() -> str:
        return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    async def send(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        try:
            claims = jwt.decode(header.removeprefix("Bearer "), secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            return web.json_response({"error": {"code": "unauthorized", "message": "invalid token"}}, status=401)
        body = await request.json()
        content = str(body.get("content", ""))
        organization = claims["organizationId"]
        room = f"org:{organization}"
        n = next(counter)
        stamp = now_iso()
        sent = copy.deepcopy(SENT_TEMPLATE)
        sent.update(id=str(uuid.uuid4()).upper(), organizationId=organization, timestamp=stamp, offset=next(offsets))
        sent["data"].update(content=content, id=str(uuid.uuid4()), externalId=f"out-{n}", createdAt=stamp, sentAt=stamp)
        received = copy.deepcopy(RECEIVED_TEMPLATE)
        received.update(id=str(uuid.uuid4()).upper(), organizationId=organization, timestamp=stamp)
        received["data"].update(
            content="echo: " + content, id=str(uuid.uuid4()), externalId=f"echo-out-{n}", createdAt=stamp, sentAt=stamp)
        await sio.emit("event", sent, room=room)
        received["offset"] = next(offsets)
        await sio.emit("event", received, room=room)
        return web.json_response(sent["data"], status=201)

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_post("/send", send)
    app.router.add_get("/health", health)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    web.run_app(build_app(args.secret), host="127.0.0.1", port=args.port, print=None, access_log=None, backlog=4096)


if __name__ == "__main__":
    main()
