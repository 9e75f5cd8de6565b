"""Benchmarks: microframe against raw ASGI, Quart and Starlette.

``benchmarks.apps`` holds one app per framework with identical endpoints;
``benchmarks.inprocess`` calls them directly, ``benchmarks.e2e`` serves them
with Hypercorn and loads them with wrk, and ``benchmarks.footprint`` measures
memory and import time. See ``benchmarks/README.md``.
"""
