"""A chat room over WebSockets: ``microframe --app examples/chat run``.

Open http://127.0.0.1:5000/ in two browser windows; what one writes, all
read. ``/?name=Ada`` joins as Ada; without a name, a guest name is given.
Each connection gets a queue of outgoing messages, drained by a task of its
own, so one slow client never holds up the room.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from microframe import (
    Microframe,
    copy_current_websocket_context,
    render_template,
    request,
    url_for,
    websocket,
)
from microframe.wrappers import WebsocketDisconnect

MAX_TEXT = 500
MAX_NAME = 32
QUEUE_SIZE = 100


class ChatRoom:
    """The members of the room, each a queue of messages to send them."""

    def __init__(self) -> None:
        self.members: set[asyncio.Queue[dict[str, Any]]] = set()

    def join(self) -> asyncio.Queue[dict[str, Any]]:
        """Add a member and return the queue of their outgoing messages."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self.members.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Remove a member."""
        self.members.discard(queue)

    def broadcast(self, message: dict[str, Any]) -> None:
        """Queue ``message`` for every member (dropped for one who lags far behind)."""
        for queue in self.members:
            if not queue.full():
                queue.put_nowait(message)


app = Microframe(__name__)
room = ChatRoom()
_guest_numbers = itertools.count(1)


def member_name(args: Any) -> str:
    """The name asked for with ``?name=``, trimmed and cut to :data:`MAX_NAME`, or ``""``."""
    return str(args.get("name") or "").strip()[:MAX_NAME]


@app.get("/")
async def index() -> str:
    """The chat page; its script connects to ``/ws``, passing on the page's ``?name=``."""
    name = member_name(request.args)
    # url_for gives a websocket endpoint's absolute ws:// URL; the script
    # keeps its path and query and connects to the page's own host.
    ws_url = url_for("chat", name=name) if name else url_for("chat")
    page: str = await render_template("index.html", ws_url=ws_url)
    return page


@app.websocket("/ws")
async def chat() -> None:
    """One member of the room: what they send is broadcast to everyone.

    The member is named by ``?name=``, or gets a guest name; either way the
    first message tells them the name they have.
    """
    name = member_name(websocket.args) or f"guest-{next(_guest_numbers)}"
    await websocket.send_json({"type": "welcome", "name": name})
    queue = room.join()

    @copy_current_websocket_context
    async def forward() -> None:
        while True:
            await websocket.send_json(await queue.get())

    sender = asyncio.create_task(forward())
    try:
        room.broadcast({"type": "join", "name": name, "members": len(room.members)})
        while True:
            text = await websocket.receive()
            if isinstance(text, bytes):
                text = text.decode(errors="replace")
            text = text.strip()[:MAX_TEXT]
            if text:
                room.broadcast({"type": "message", "name": name, "text": text})
    except WebsocketDisconnect:
        pass
    finally:
        room.leave(queue)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        room.broadcast({"type": "leave", "name": name, "members": len(room.members)})


if __name__ == "__main__":
    app.run()
