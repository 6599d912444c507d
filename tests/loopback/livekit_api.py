"""A loopback LiveKit server API (Twirp over HTTP, protobuf bodies): RoomService.DeleteRoom,
RoomService.RemoveParticipant and SIP.TransferSIPParticipant, as livekit-api's real
`LiveKitAPI` client calls them.

Each request is checked for a bearer token signed with the test key/secret (the grant the
server would check) and recorded as `(method, request message)`. `fail_transfer` makes
TransferSIPParticipant answer like a SIP service whose far end refused the call.

Point the client at it with `LIVEKIT_URL=server.url`, `LIVEKIT_API_KEY=server.api_key`,
`LIVEKIT_API_SECRET=server.api_secret` (`server.env()`).
"""

from __future__ import annotations

from typing import Any

import jwt
from aiohttp import web
from google.protobuf.message import Message
from livekit.protocol import room as room_proto
from livekit.protocol import sip as sip_proto

from ._common import LoopbackServer

API_KEY = "loopback-key"
API_SECRET = "loopback-secret-that-is-long-enough-for-hs256"

_METHODS: dict[str, tuple[type[Message], type[Message]]] = {
    "livekit.RoomService/DeleteRoom": (room_proto.DeleteRoomRequest, room_proto.DeleteRoomResponse),
    "livekit.RoomService/RemoveParticipant": (
        room_proto.RoomParticipantIdentity,
        room_proto.RemoveParticipantResponse,
    ),
    "livekit.SIP/TransferSIPParticipant": (
        sip_proto.TransferSIPParticipantRequest,
        # google.protobuf.Empty on the wire: an empty body
        room_proto.DeleteRoomResponse,
    ),
}


class LiveKitApiServer(LoopbackServer):
    def __init__(self, *, fail_transfer: bool = False) -> None:
        self.fail_transfer = fail_transfer
        self.calls: list[tuple[str, Any]] = []
        """(method, request message) per request, in order."""
        self.api_key = API_KEY
        self.api_secret = API_SECRET
        super().__init__()

    @property
    def url(self) -> str:
        return self.root_url

    def env(self) -> dict[str, str]:
        return {
            "LIVEKIT_URL": self.url,
            "LIVEKIT_API_KEY": self.api_key,
            "LIVEKIT_API_SECRET": self.api_secret,
        }

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]

    def _setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/twirp/{method:.+}", self._twirp)

    async def _twirp(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method not in _METHODS:
            return web.json_response({"code": "bad_route", "msg": method}, status=404)
        auth = request.headers.get("Authorization", "")
        try:
            jwt.decode(auth.removeprefix("Bearer "), API_SECRET, algorithms=["HS256"])
        except jwt.PyJWTError as e:
            return web.json_response({"code": "unauthenticated", "msg": str(e)}, status=401)
        req_cls, resp_cls = _METHODS[method]
        message = req_cls.FromString(await request.read())
        self.calls.append((method.rsplit("/", 1)[1], message))
        if method.endswith("TransferSIPParticipant") and self.fail_transfer:
            return web.json_response(
                {
                    "code": "failed_precondition",
                    "msg": "transfer failed",
                    "meta": {"sip_status_code": "486", "sip_status": "Busy Here"},
                },
                status=412,
            )
        return web.Response(
            body=resp_cls().SerializeToString(), content_type="application/protobuf"
        )
