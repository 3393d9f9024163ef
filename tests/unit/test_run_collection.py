"""Garbage collection during a sync run: fewer collections, what existed before frozen, all given back after."""

from __future__ import annotations

import gc
import threading

from connector.sync.collection import RUN_THRESHOLDS, run_collection


def test_a_run_collects_less_often_and_gives_the_process_its_settings_back() -> None:
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    with run_collection():
        assert gc.get_threshold() == RUN_THRESHOLDS
        assert gc.get_freeze_count() > frozen_before, "what existed before the run is not scanned"
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


def test_what_the_process_froze_itself_stays_frozen_after_a_run() -> None:
    gc.freeze()
    try:
        assert gc.get_freeze_count() > 0
        with run_collection():
            assert gc.get_threshold() == RUN_THRESHOLDS
        # objects freed meanwhile leave the frozen count; a thaw would empty it
        assert gc.get_freeze_count() > 0, "the run thawed nothing of the process's"
    finally:
        gc.unfreeze()


def test_cycles_made_during_a_run_are_still_collected() -> None:
    collected = threading.Event()

    class Node:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            collected.set()

    with run_collection():
        Node()
        gc.collect()
        assert collected.is_set()


def test_overlapping_runs_keep_the_run_settings_until_the_last_one_ends() -> None:
    before = gc.get_threshold()
    first_inside, second_may_end, first_done = threading.Event(), threading.Event(), threading.Event()
    seen_after_second: list[tuple[int, int, int]] = []

    def first() -> None:
        with run_collection():
            first_inside.set()
            second_may_end.wait(5)
            seen_after_second.append(gc.get_threshold())
        first_done.set()

    worker = threading.Thread(target=first)
    worker.start()
    assert first_inside.wait(5)
    with run_collection():
        pass
    second_may_end.set()
    worker.join(5)
    assert first_done.is_set()
    assert seen_after_second == [RUN_THRESHOLDS], "the run still going keeps its settings"
    assert gc.get_threshold() == before
