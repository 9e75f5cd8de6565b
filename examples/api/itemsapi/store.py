"""The items and where they are kept: an in-memory store, one per app.

Its methods never await, so under asyncio each one runs whole without
interleaving with another request: no lock is needed.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Item:
    """One item of the catalogue."""

    id: int
    name: str
    price: float
    description: str = ""
    tags: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)

    def to_json(self) -> dict[str, Any]:
        """Return the item as a JSON-ready dict."""
        return asdict(self)


class ItemStore:
    """Items by id, in the order they were created."""

    def __init__(self) -> None:
        self._items: dict[int, Item] = {}
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._items)

    def seed(self) -> None:
        """Add a few example items."""
        self.create({"name": "Teapot", "price": 18.5, "tags": ["kitchen"], "description": "Short and stout."})
        self.create({"name": "Lamp", "price": 32.0, "tags": ["home", "light"]})
        self.create({"name": "Notebook", "price": 4.25, "tags": ["office"]})

    def page(self, offset: int, limit: int) -> list[Item]:
        """Return up to ``limit`` items from position ``offset``, oldest first."""
        return list(itertools.islice(self._items.values(), offset, offset + limit))

    def get(self, item_id: int) -> Item | None:
        """Return the item ``item_id``, or ``None``."""
        return self._items.get(item_id)

    def create(self, data: dict[str, Any]) -> Item:
        """Add an item made of validated ``data``; return it with its new id."""
        item = Item(id=next(self._ids), **data)
        self._items[item.id] = item
        return item

    def update(self, item: Item, data: dict[str, Any]) -> Item:
        """Set the fields in validated ``data`` on ``item``."""
        for name, value in data.items():
            setattr(item, name, value)
        item.updated_at = _now()
        return item

    def delete(self, item_id: int) -> bool:
        """Remove the item ``item_id``; return whether it existed."""
        return self._items.pop(item_id, None) is not None
