"""gantryd's main thread wakes up for a signal whichever thread the kernel delivered it to."""
import signal
import threading
import time

from gantry.highlevel import daemon


def test_a_signal_taken_by_another_thread_wakes_the_main_thread():
    stop = threading.Event()
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: stop.set())
    sleeper_ready = threading.Event()
    done = threading.Event()

    def sleeper():                      # stands for a gRPC thread that does not block the signal
        sleeper_ready.set()
        done.wait(10)

    t = threading.Thread(target=sleeper)
    t.start()
    sleeper_ready.wait()
    killer = threading.Timer(0.2, signal.pthread_kill, (t.ident, signal.SIGUSR1))
    try:
        killer.start()
        started = time.monotonic()
        daemon.wait_until_set(stop, poll=20.0)   # Event.wait(20) here would take the whole 20 s
        assert stop.is_set()
        assert time.monotonic() - started < 5
    finally:
        killer.cancel()
        done.set()
        t.join()
        signal.signal(signal.SIGUSR1, previous)


def test_returns_at_once_when_already_set():
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    daemon.wait_until_set(stop, poll=20.0)
    assert time.monotonic() - started < 1
