"""The smallest Microframe app: ``microframe --app examples/hello run``."""

from __future__ import annotations

from microframe import Microframe

app = Microframe(__name__)


@app.get("/")
async def index() -> str:
    """Say hello in plain text."""
    return "Hello, World!"


@app.get("/hello/<name>")
async def hello(name: str) -> dict[str, str]:
    """Greet ``name`` in JSON."""
    return {"greeting": f"Hello, {name}!"}


if __name__ == "__main__":
    app.run()
