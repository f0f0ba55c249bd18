"""The heap a run freezes before its measured code: frozen for the block only, the block's own
garbage still collected."""

from __future__ import annotations

import gc
import weakref

from profiler.frozen_heap import frozen_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def test_what_exists_is_frozen_for_the_block_and_thawed_after() -> None:
    before = _cycle()  # garbage when the block starts: collected, not frozen forever
    with frozen_heap():
        assert before() is None
        assert gc.get_freeze_count() > 0
        made_inside = _cycle()
        gc.collect()
        assert made_inside() is None  # the measured code's own garbage is collected as usual
    assert gc.get_freeze_count() == 0


def test_thawed_when_the_block_raises() -> None:
    try:
        with frozen_heap():
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert gc.get_freeze_count() == 0
