from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from microframe.caches import BoundedCache


def test_oldest_entry_goes_when_full() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    assert cache.put("a", 1) == 1
    cache.put("b", 2)
    cache.put("a", 10)  # a key already there replaces its value, dropping nothing
    assert dict(cache) == {"a": 10, "b": 2}
    cache.put("c", 3)
    assert dict(cache) == {"b": 2, "c": 3}


@pytest.fixture
def fast_thread_switches() -> Iterator[None]:
    # Threads switch every microsecond rather than every 5 ms, so that two of
    # them meet inside put() within a few thousand writes.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def test_writes_from_several_threads(fast_thread_switches: None) -> None:
    # Sync views run on worker threads and write the same caches (redirect
    # targets, built URLs): evicting at once must neither fail nor overfill.
    cache: BoundedCache[tuple[int, int], int] = BoundedCache(8)
    errors: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            for number in range(20_000):
                cache.put((thread, number), number)
        except BaseException as error:  # reported by the test, not the thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert len(cache) == 8


def test_first_use_makes_the_value_once_and_keeps_it_in_the_instance() -> None:
    from microframe.caches import first_use

    made: list[int] = []

    class Thing:
        @first_use
        def value(self) -> int:
            """The value."""
            made.append(1)
            return len(made)

    thing = Thing()
    assert "value" not in vars(thing)
    assert thing.value == 1
    assert thing.value == 1
    assert made == [1]
    assert vars(thing)["value"] == 1
    assert Thing().value == 2  # each instance makes its own
    assert isinstance(Thing.value, first_use)
    assert Thing.value.__doc__ == "The value."


def test_first_use_attribute_set_before_it_is_read_is_never_made() -> None:
    from microframe.caches import first_use

    class Thing:
        @first_use
        def value(self) -> int:
            raise AssertionError("not to be made")

    thing = Thing()
    thing.value = 7
    assert thing.value == 7
