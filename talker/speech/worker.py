"""A voice that runs in a worker process: the product side of the process boundary.

The GPL voices (Piper; Kokoro's espeak-based G2P) are loaded once by a child program
(``python -m MODULE``, started through ``child``) that answers JSON requests, one per line, until
its stdin closes. ``WorkerVoice`` keeps that child alive between requests (loading a voice takes
seconds, a sentence a fraction of that), restarts it when it dies, kills it when it hangs, and
closes every live one at exit. ``serve`` is the child's side of the same protocol:

* first line out: ``{"event": "ready", "load_s": 4.9, "pid": 123, ...}`` (or ``{"event": "error",
  "error": "..."}`` and exit 2 when the voice cannot load);
* in: ``{"id": 1, ...}``; out: ``{"id": 1, "ok": true, ...}`` or ``{"id": 1, "ok": false, "error": "..."}``;
  ``{"op": "ping"}`` answers its pid, ``{"op": "exit"}`` ends the loop.

Only stdout carries the protocol: anything a library prints goes to stderr.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable

from ..errors import ModelUnavailableError
from .child import start_module

_live: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for voice in list(_live):
        voice.close()


class WorkerProcess:
    """One running worker with a thread that reads its replies."""

    def __init__(self, module: str, args: list[str], log_prefix: str) -> None:
        self.log = tempfile.TemporaryFile(prefix=log_prefix, suffix=".log")
        self.started = time.perf_counter()
        self.proc = start_module(module, *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, name=f"{log_prefix}reader", daemon=True).start()

    def _read(self) -> None:
        try:
            for line in self.proc.stdout:
                try:
                    self.replies.put(json.loads(line))
                except ValueError:
                    continue
        except (OSError, ValueError):
            pass
        self.replies.put(None)  # end of stream: the process is gone

    def stderr_tail(self, limit: int = 600) -> str:
        try:
            self.log.seek(0, os.SEEK_END)
            size = self.log.tell()
            self.log.seek(max(0, size - limit))
            return self.log.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.log.close()
        except OSError:
            pass


class WorkerDied(Exception):
    pass


class WorkerVoice:
    """A voice behind a process boundary; thread-safe, one request at a time.

    Subclasses name the worker (``module``, ``worker_args``), say what is missing (``missing``),
    and call ``request(payload)`` from their ``synthesize``.
    """

    label = "the voice"  # in messages: "The Piper voice did not start…"
    log_prefix = "talker-voice-"
    missing_fix = "Install the project requirements again."
    reinstall = "Install the project requirements again."  # when an installed voice fails to load
    timeout_env = ""  # environment variable with a request timeout in seconds, if any

    def __init__(self, start_timeout: float = 180.0, request_timeout: float | None = None) -> None:
        self.start_timeout = start_timeout
        self.request_timeout = request_timeout
        self._worker: WorkerProcess | None = None
        self._lock = threading.Lock()
        self._next_id = 0
        self.restarts = 0
        self.last_start_s: float | None = None  # wall time of the last worker start, voice load included
        _live.add(self)

    # ----------------------------------------------------------------- to provide

    module = ""

    def worker_args(self) -> list[str]:
        return []

    def missing(self) -> str:
        return ""

    def available(self) -> bool:
        return not self.missing()

    @property
    def sentence_label(self) -> str:
        """The label at the start of a sentence."""
        return self.label[:1].upper() + self.label[1:]

    # ----------------------------------------------------------------- lifecycle

    @property
    def pid(self) -> int | None:
        w = self._worker
        return w.proc.pid if w is not None and w.alive() else None

    def _start(self) -> WorkerProcess:
        problem = self.missing()
        if problem:
            raise ModelUnavailableError(f"{self.sentence_label} cannot run: {problem}.", self.missing_fix)
        worker = WorkerProcess(self.module, self.worker_args(), self.log_prefix)
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                msg = worker.replies.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                worker.kill()
                raise ModelUnavailableError(
                    f"{self.sentence_label} did not start within {self.start_timeout:.0f} s.",
                    "The machine may be overloaded; try again.") from None
            if msg is None:
                tail = worker.stderr_tail()
                worker.kill()
                raise ModelUnavailableError(
                    f"{self.sentence_label} process exited while loading ({tail or 'no output'}).",
                    self.reinstall)
            if msg.get("event") == "error":
                worker.kill()
                raise ModelUnavailableError(f"{self.sentence_label} could not be loaded: {msg.get('error')}.",
                                            self.reinstall)
            if msg.get("event") == "ready":
                self.last_start_s = time.perf_counter() - worker.started
                return worker

    def _ensure(self) -> WorkerProcess:
        if self._worker is not None and not self._worker.alive():
            self._worker.kill()
            self._worker = None
            self.restarts += 1
        if self._worker is None:
            self._worker = self._start()
        return self._worker

    def start(self) -> None:
        """Start the worker now (to hide the voice's load time before the first request)."""
        with self._lock:
            self._ensure()

    def close(self) -> None:
        with self._lock:
            w, self._worker = self._worker, None
        if w is None:
            return
        try:
            if w.alive():
                w.proc.stdin.write(b'{"op": "exit"}\n')
                w.proc.stdin.flush()
                w.proc.wait(timeout=2)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        w.kill()

    # ----------------------------------------------------------------- requests

    def _timeout_for(self, text: str) -> float:
        if self.request_timeout is not None:
            return self.request_timeout
        env = os.environ.get(self.timeout_env, "").strip() if self.timeout_env else ""
        if env:
            try:
                return float(env)
            except ValueError:
                pass
        return 60.0 + 0.5 * len(text)

    def _ask(self, worker: WorkerProcess, request: dict, timeout: float) -> dict:
        try:
            worker.proc.stdin.write((json.dumps(request, ensure_ascii=False) + "\n").encode("utf-8"))
            worker.proc.stdin.flush()
        except (OSError, ValueError) as exc:
            raise WorkerDied(str(exc)) from exc
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = worker.replies.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                worker.kill()
                self._worker = None
                hint = f", or set {self.timeout_env} higher on a slow machine" if self.timeout_env else ""
                raise ModelUnavailableError(
                    f"{self.sentence_label} did not answer within {timeout:.0f} s and was stopped.",
                    f"Try a shorter text{hint}.") from None
            if msg is None:
                raise WorkerDied(worker.stderr_tail())
            if msg.get("id") == request["id"]:
                return msg

    def request(self, payload: dict, text: str) -> dict:
        """Send ``payload`` (``text`` sizes the timeout); a worker that dies is started once more."""
        with self._lock:
            self._next_id += 1
            request = {"id": self._next_id, **payload}
            timeout = self._timeout_for(text)
            for attempt in (1, 2):
                worker = self._ensure()
                try:
                    return self._ask(worker, request, timeout)
                except WorkerDied as died:
                    worker.kill()
                    self._worker = None
                    self.restarts += 1
                    if attempt == 2:
                        raise ModelUnavailableError(
                            f"{self.sentence_label} process stopped twice on this text ({died or 'no output'}).",
                            "Try rephrasing the text; report it if it keeps happening.") from None
        raise AssertionError("unreachable")


def serve(load: Callable[[], tuple[object, dict]], handle: Callable[[object, dict], dict]) -> int:
    """The worker's side: ``load()`` → (voice, extra fields of the ready message), then
    ``handle(voice, request)`` → reply for each request line, until stdin closes."""
    # Keep the protocol stream private: C libraries and print() write to fd 1.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(obj: dict) -> None:
        proto.write(json.dumps(obj, ensure_ascii=False) + "\n")
        proto.flush()

    t0 = time.perf_counter()
    try:
        voice, ready = load()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises a typed error
        send({"event": "error", "error": f"{type(exc).__name__}: {exc}"})
        return 2
    send({"event": "ready", **ready, "pid": os.getpid(), "load_s": round(time.perf_counter() - t0, 3)})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            if request.get("op") == "exit":
                break
            if request.get("op") == "ping":
                send({"id": request_id, "ok": True, "pid": os.getpid()})
                continue
            reply = handle(voice, request)
        except Exception as exc:  # noqa: BLE001 - one bad request must not end the worker
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        reply["id"] = request_id
        send(reply)
    return 0
