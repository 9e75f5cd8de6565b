"""The fault tests share the live server helper of the security tests."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/security holds live_server.py; pytest puts only this folder on sys.path.
_SECURITY = str(Path(__file__).resolve().parent.parent / "security")
if _SECURITY not in sys.path:
    sys.path.insert(0, _SECURITY)
