"""The items resource: ``/api/v1/items`` and ``/api/v1/items/<id>``.

==========  ======================  ==========================================
``GET``     ``/items``              a page of items (``?page=&per_page=``)
``POST``    ``/items``              create an item; 201 with ``Location``
``GET``     ``/items/<id>``         one item
``PUT``     ``/items/<id>``         replace an item (all fields)
``PATCH``   ``/items/<id>``         change some fields of an item
``DELETE``  ``/items/<id>``         delete an item; 204
==========  ======================  ==========================================
"""

from __future__ import annotations

import math
from typing import Any

from microframe import Blueprint, ResponseReturnValue, abort, current_app, request, url_for

from .errors import ValidationError
from .store import Item, ItemStore

bp = Blueprint("items", __name__, url_prefix="/items")

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 1000
MAX_PRICE = 1_000_000
MAX_TAGS = 10
MAX_TAG_LENGTH = 30
REQUIRED_FIELDS = ("name", "price")
DEFAULTS: dict[str, Any] = {"description": "", "tags": []}


def get_store() -> ItemStore:
    """Return the current app's item store."""
    store: ItemStore = current_app.extensions["items"]
    return store


def get_item_or_404(item_id: int) -> Item:
    """Return the item ``item_id`` or abort with a 404 that names it."""
    item = get_store().get(item_id)
    if item is None:
        abort(404, description=f"There is no item with id {item_id}.")
    return item


# -- validation --------------------------------------------------------------------


def _check_name(value: Any) -> tuple[str | None, Any]:
    if not isinstance(value, str) or not value.strip():
        return "Must be a non-empty string.", None
    if len(value.strip()) > MAX_NAME_LENGTH:
        return f"Must be at most {MAX_NAME_LENGTH} characters.", None
    return None, value.strip()


def _check_price(value: Any) -> tuple[str | None, Any]:
    # bool is an int in Python, but true is no price.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "Must be a number.", None
    if not 0 <= value <= MAX_PRICE:
        return f"Must be between 0 and {MAX_PRICE}.", None
    return None, value


def _check_description(value: Any) -> tuple[str | None, Any]:
    if not isinstance(value, str):
        return "Must be a string.", None
    if len(value) > MAX_DESCRIPTION_LENGTH:
        return f"Must be at most {MAX_DESCRIPTION_LENGTH} characters.", None
    return None, value


def _check_tags(value: Any) -> tuple[str | None, Any]:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        return "Must be a list of strings.", None
    if len(value) > MAX_TAGS:
        return f"At most {MAX_TAGS} tags.", None
    if any(not tag.strip() or len(tag) > MAX_TAG_LENGTH for tag in value):
        return f"Each tag must have 1 to {MAX_TAG_LENGTH} characters.", None
    return None, [tag.strip() for tag in value]


_CHECKS = {
    "name": _check_name,
    "price": _check_price,
    "description": _check_description,
    "tags": _check_tags,
}


def validate_item(data: Any, partial: bool = False) -> dict[str, Any]:
    """Return the cleaned fields of ``data``, a JSON body describing an item.

    :param partial: accept a subset of the fields (``PATCH``); otherwise the
        required fields must be there and the others get their defaults.
    :raises ValidationError: with a message for each field that is wrong.
    """
    if not isinstance(data, dict):
        raise ValidationError({}, "The body must be a JSON object.")
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {} if partial else dict(DEFAULTS)
    for name, value in data.items():
        check = _CHECKS.get(name)
        if check is None:
            errors[name] = "Unknown field."
            continue
        error, clean = check(value)
        if error is not None:
            errors[name] = error
        else:
            cleaned[name] = clean
    if not partial:
        for name in REQUIRED_FIELDS:
            if name not in data:
                errors[name] = "This field is required."
    if partial and not data:
        raise ValidationError({}, f"Send at least one of the fields: {', '.join(_CHECKS)}.")
    if errors:
        raise ValidationError(errors)
    return cleaned


def _positive_int_arg(name: str, default: int, maximum: int | None = None) -> tuple[int, str | None]:
    raw = request.args.get(name)
    if raw is None:
        return default, None
    try:
        value = int(raw)
    except ValueError:
        return default, "Must be a whole number."
    if value < 1:
        return default, "Must be 1 or more."
    if maximum is not None and value > maximum:
        return default, f"Must be at most {maximum}."
    return value, None


def pagination_args() -> tuple[int, int]:
    """Return the ``page`` and ``per_page`` query arguments, checked.

    :raises ValidationError: either is not a whole number in bounds.
    """
    config = current_app.config
    page, page_error = _positive_int_arg("page", 1)
    per_page, per_page_error = _positive_int_arg(
        "per_page", config["DEFAULT_PER_PAGE"], config["MAX_PER_PAGE"]
    )
    errors = {name: error for name, error in (("page", page_error), ("per_page", per_page_error)) if error}
    if errors:
        raise ValidationError(errors, "Invalid pagination arguments.")
    return page, per_page


# -- views -----------------------------------------------------------------------


@bp.get("")
async def list_items() -> ResponseReturnValue:
    """Return one page of items, with links to the neighbouring pages."""
    page, per_page = pagination_args()
    store = get_store()
    total = len(store)
    pages = max(1, math.ceil(total / per_page))
    if page > pages:
        abort(404, description=f"There is no page {page}; the last page is {pages}.")

    def link(number: int) -> str:
        return url_for(".list_items", page=number, per_page=per_page)

    links: dict[str, str | None] = {
        "self": link(page),
        "first": link(1),
        "last": link(pages),
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
    }
    return {
        "items": [item.to_json() for item in store.page((page - 1) * per_page, per_page)],
        "pagination": {"page": page, "per_page": per_page, "total": total, "pages": pages},
        "links": links,
    }


@bp.post("")
async def create_item() -> ResponseReturnValue:
    """Create an item from the JSON body; 201 with the item and its URL."""
    data = validate_item(await request.get_json())
    item = get_store().create(data)
    location = url_for(".get_item", item_id=item.id)
    return item.to_json(), 201, {"Location": location}


@bp.get("/<int:item_id>")
async def get_item(item_id: int) -> ResponseReturnValue:
    """Return one item."""
    return get_item_or_404(item_id).to_json()


@bp.put("/<int:item_id>")
async def replace_item(item_id: int) -> ResponseReturnValue:
    """Replace every field of an item; fields left out get their defaults."""
    item = get_item_or_404(item_id)
    data = validate_item(await request.get_json())
    return get_store().update(item, data).to_json()


@bp.patch("/<int:item_id>")
async def update_item(item_id: int) -> ResponseReturnValue:
    """Change only the fields sent."""
    item = get_item_or_404(item_id)
    data = validate_item(await request.get_json(), partial=True)
    return get_store().update(item, data).to_json()


@bp.delete("/<int:item_id>")
async def delete_item(item_id: int) -> ResponseReturnValue:
    """Delete an item; 204 with no body."""
    get_store().delete(get_item_or_404(item_id).id)
    return "", 204
