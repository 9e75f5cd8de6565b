"""A chat room over WebSockets: ``microframe --app examples/chat run``.

Open http://127.0.0.1:5000/ in two browser windows; what one writes, all
read. ``/?name=Ada`` joins as Ada; without a name, a guest name is given.

The room is a broadcast channel (:mod:`microframe.broadcast`), so it works
across worker processes and machines once they share a Redis:
``MICROFRAME_BROADCAST_URL=redis://127.0.0.1:6379/0``; without it the room
lives in the process (``memory://``). Each member's messages wait in a
bounded queue, drained by a task of its own, so one slow client never holds
up the room; one that falls too far behind is disconnected (its page
reconnects).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from microframe import (
    Microframe,
    copy_current_websocket_context,
    render_template,
    request,
    url_for,
    websocket,
)
from microframe.broadcast import (
    Broadcast,
    BroadcastUnavailableError,
    Subscriber,
    SubscriberOverflowError,
)
from microframe.wrappers import WebsocketDisconnect

MAX_TEXT = 500
MAX_NAME = 32
#: The broadcast channel of the room.
ROOM = "chat"
#: The close code for a member who fell behind: "try again later".
TRY_AGAIN_LATER = 1013

app = Microframe(__name__)
app.config["BROADCAST_QUEUE_SIZE"] = 100
app.config.from_prefixed_env()  # MICROFRAME_BROADCAST_URL, MICROFRAME_BROADCAST_QUEUE_SIZE
broadcast = Broadcast(app)
_guest_numbers = itertools.count(1)


def member_name(args: Any) -> str:
    """The name asked for with ``?name=``, trimmed and cut to :data:`MAX_NAME`, or ``""``."""
    return str(args.get("name") or "").strip()[:MAX_NAME]


async def say(message: dict[str, Any]) -> bool:
    """Broadcast ``message`` to the room; ``False`` if the broadcast is down."""
    try:
        await broadcast.publish(ROOM, json.dumps(message))
    except BroadcastUnavailableError:
        return False  # the broadcast logged the outage
    return True


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
    async with broadcast.subscribe(ROOM) as messages:

        @copy_current_websocket_context
        async def forward(messages: Subscriber) -> None:
            try:
                async for message in messages:
                    await websocket.send(message)  # already JSON
            except SubscriberOverflowError:
                await websocket.close(TRY_AGAIN_LATER, "too far behind")

        sender = asyncio.create_task(forward(messages))
        try:
            await say({"type": "join", "name": name})
            while True:
                text = await websocket.receive()
                if isinstance(text, bytes):
                    text = text.decode(errors="replace")
                text = text.strip()[:MAX_TEXT]
                if text and not await say({"type": "message", "name": name, "text": text}):
                    await websocket.send_json(
                        {"type": "error", "text": "Not delivered: the chat is reconnecting; try again."}
                    )
        except WebsocketDisconnect:
            pass
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
    await say({"type": "leave", "name": name})


if __name__ == "__main__":
    app.run()
