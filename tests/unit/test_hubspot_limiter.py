"""The proactive rolling-window limiter, on a fake clock: no test sleeps."""

from __future__ import annotations

from connector.crm.hubspot.limiter import RollingWindowLimiter
from tests.helpers import SleeplessTime


def call(limiter: RollingWindowLimiter, fake: SleeplessTime, *, duration: float = 0.01) -> float:
    """One call through the limiter; returns when it started."""
    limiter.acquire()
    started = fake.now
    fake.now += duration
    limiter.record()
    return started


def test_the_first_calls_up_to_the_limit_start_at_once() -> None:
    """Below the limit nothing waits."""
    fake = SleeplessTime()
    limiter = RollingWindowLimiter(10, 10.0, clock=fake.clock())
    starts = [call(limiter, fake) for _ in range(10)]
    assert starts[-1] < 0.2 and limiter.waited_s == 0


def test_the_next_call_waits_until_the_oldest_has_left_the_window() -> None:
    """Call limit+1 starts one window (plus the margin) after the first call finished."""
    fake = SleeplessTime()
    limiter = RollingWindowLimiter(10, 10.0, clock=fake.clock(), margin_s=0.05)
    first_end = call(limiter, fake) + 0.01
    for _ in range(9):
        call(limiter, fake)
    assert call(limiter, fake) >= first_end + 10.05 - 1e-9


def test_no_rolling_window_ever_holds_more_than_the_limit_and_the_pace_is_the_limit() -> None:
    """Over 300 calls every 10-s window holds at most 100 calls, and the whole run is paced at ~10/s."""
    fake = SleeplessTime()
    limiter = RollingWindowLimiter(100, 10.0, clock=fake.clock())
    starts = [call(limiter, fake) for _ in range(300)]
    assert max(sum(1 for t in starts if s <= t < s + 10.0) for s in starts) <= 100
    sustained = 200 / (starts[-1] - starts[99])
    assert 9.5 <= sustained <= 10.0


def test_fewer_remaining_calls_than_counted_means_someone_shares_the_budget() -> None:
    """Remaining 0 from the server after one call of ours fills the window: the next call waits."""
    fake = SleeplessTime()
    limiter = RollingWindowLimiter(100, 10.0, clock=fake.clock())
    call(limiter, fake)
    limiter.observe(limit=100, remaining=0, window_ms=10_000)
    assert limiter.in_window() == 100
    assert limiter.delay() > 9.9


def test_a_lower_server_maximum_lowers_the_limit_and_a_higher_one_never_raises_it() -> None:
    """Max 50 in the headers lowers a configured 100; Max 190 leaves it at 100; the interval sets the window."""
    limiter = RollingWindowLimiter(100, 10.0, clock=SleeplessTime().clock())
    limiter.observe(limit=50, remaining=None, window_ms=None)
    assert limiter.limit == 50
    limiter.observe(limit=190, remaining=None, window_ms=1_000)
    assert limiter.limit == 100 and limiter.window_s == 1.0


def test_a_pause_with_a_retry_after_holds_every_call_that_long() -> None:
    """After a 429 with Retry-After 3, the next call starts 3 s later."""
    fake = SleeplessTime()
    limiter = RollingWindowLimiter(100, 10.0, clock=fake.clock())
    limiter.pause(3.0)
    assert call(limiter, fake) == 3.0


def test_a_pause_without_a_figure_waits_a_whole_window_when_others_spent_the_budget() -> None:
    """Refused while our own window is nearly empty: someone else spent it, so a whole window must pass."""
    fake = SleeplessTime()
    limiter = RollingWindowLimiter(100, 10.0, clock=fake.clock(), margin_s=0.05)
    call(limiter, fake)
    limiter.pause()
    assert call(limiter, fake) >= 10.05


def test_a_pause_without_a_figure_adds_nothing_when_our_own_calls_fill_the_window() -> None:
    """When the window is full of our calls, waiting for the oldest to leave it is enough."""
    fake = SleeplessTime()
    limiter = RollingWindowLimiter(5, 10.0, clock=fake.clock(), margin_s=0.0)
    for _ in range(5):
        call(limiter, fake, duration=1.0)
    limiter.pause()
    assert call(limiter, fake) == 11.0


def test_calls_in_flight_hold_their_slots_so_two_threads_never_exceed_the_limit() -> None:
    """A slot granted by ``acquire`` counts until ``record``: a reader and a writer sharing the limiter
    together start at most ``limit`` calls in any window."""
    fake = SleeplessTime()
    limiter = RollingWindowLimiter(3, 10.0, clock=fake.clock())
    for _ in range(3):
        limiter.acquire()  # three calls in flight, none finished yet
    assert limiter.delay() > 0
    limiter.record()
    limiter.record()
    limiter.record()
    assert limiter.in_window() == 3 and limiter.delay() > 9.9


def test_threads_sharing_a_limiter_keep_to_it_in_real_time() -> None:
    """Two threads of 20 calls each through a 10-per-0.2-s limiter: no window of 0.2 s holds more than 10."""
    import threading
    import time

    limiter = RollingWindowLimiter(10, 0.2, margin_s=0.005)
    starts: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            limiter.acquire()
            with lock:
                starts.append(time.monotonic())
            time.sleep(0.001)
            limiter.record()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts.sort()
    assert len(starts) == 40
    assert all(starts[i + 10] - starts[i] >= 0.2 for i in range(len(starts) - 10))


def test_a_limiter_counting_at_the_start_does_not_wait_for_answers() -> None:
    """With ``count_at_start`` (the one-second search limit) slow answers do not slow the rate: call k + 5
    starts one window after call k started, not one window after call k's answer."""
    fake = SleeplessTime()
    limiter = RollingWindowLimiter(5, 1.0, clock=fake.clock(), margin_s=0.01, count_at_start=True)
    starts = [call(limiter, fake, duration=0.1) for _ in range(10)]
    assert abs(starts[5] - 1.01) < 1e-9  # counted at the finish, it would start at 1.11
    assert all(starts[i + 5] - starts[i] >= 1.01 - 1e-9 for i in range(5))
