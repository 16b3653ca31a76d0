"""Run code that a regression could make hang, and fail instead of hanging the test run."""

import threading


def finishes_within(seconds: float, work):
    """`work()`'s result (or its exception, raised again) if it ends within `seconds`.

    It runs in a daemon thread: a thread cannot be stopped, but a daemon one does not keep
    the test run from ending when the test has failed.
    """
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed back to the caller, in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
