"""Browser tests: the examples served by ``microframe run``, driven by headless Chromium.

A package, so that this folder's ``conftest`` is ``browser.conftest`` and does not
replace ``tests/conftest.py`` as the module named ``conftest``.
"""
