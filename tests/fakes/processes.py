"""What the process tests and the benches need to run ``pmfbot`` as a real subprocess: a free
loopback port, and a stop that ends the whole process group (gunicorn's workers too)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM to the group (started with ``start_new_session=True``), SIGKILL if it lingers."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_healthy(base: str, web: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until ``pmfbot web`` at ``base`` answers ``/healthz`` with 200; exit the bench with
    its stderr if the process died, or after ``timeout`` seconds."""
    from urllib.error import URLError
    from urllib.request import urlopen

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit("pmfbot web exited: " + (web.stderr.read().decode()[-2000:] if web.stderr else ""))
        try:
            with urlopen(base + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"pmfbot web did not become healthy within {timeout:.0f} s")


def timed_post(url: str, body: bytes, headers: dict[str, str], timeout: float = 30.0) -> tuple[int, float]:
    """POST ``body`` and return (HTTP status, seconds until the whole response was read); status 0
    when no response came (refused, reset, timed out). The benches' one way to time a request."""
    from urllib.error import HTTPError, URLError
    from urllib.request import Request, urlopen

    started = time.perf_counter()
    try:
        with urlopen(Request(url, data=body, method="POST", headers=headers), timeout=timeout) as resp:
            resp.read()
            status = resp.status
    except HTTPError as err:
        status = err.code
    except (URLError, TimeoutError, ConnectionError):
        status = 0
    return status, time.perf_counter() - started
