"""Generation runs in a worker process that owns one ``TalkerPipeline``.

Why a process: models load once and stay loaded between jobs, a crash (or an out-of-memory
kill) takes down only the worker, not the web server, and a job over its time limit can be
stopped for sure by killing it. The app sends a job dict over a pipe; the worker answers with
("progress", frac, desc) and ("chunk", event) messages (a piece of the video is ready to play) and
then ("done", result) or ("error", message, code). The app may send "cancel" while a job runs: the
worker stops it after the piece under way, removes its files and answers ("error", …, "cancelled").
A dead worker is noticed by pipe EOF or process exit; that job fails with a readable message
and a fresh worker is started for the next one.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing as mp
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable

from ..errors import TalkerError

log = logging.getLogger("talker.app")

Progress = Callable[[float, str], None]


class WorkerError(TalkerError):
    code = "worker_failed"


class JobTimeout(TalkerError):
    code = "job_timeout"


class JobCancelled(TalkerError):
    """Raised inside the worker when the app asked it to stop the job."""

    def __init__(self) -> None:
        super().__init__("The job was cancelled.", "Start it again when you want the video.")
        self.code = "cancelled"


class JobFailed(TalkerError):
    """An error the worker reported; carries its code so callers can tell input errors apart."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


# -- inside the worker process --------------------------------------------------------------------
def _serve(conn, env: dict, warmup: bool) -> None:
    os.environ.update(env)
    from ..pipeline import PipelineConfig, TalkerPipeline
    from . import jobs

    pipe = TalkerPipeline(PipelineConfig(templates_dir=env.get("TALKER_TEMPLATES_DIR")))
    info = {"pid": os.getpid(), "device": jobs.device()}
    conn.send(("ready", info))
    if warmup:
        try:
            jobs.warmup()
        except Exception:  # noqa: BLE001 - a failed warm-up shows up again, readably, in the first job
            traceback.print_exc()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            break  # the app went away
        if job is None:
            break
        if not isinstance(job, dict):
            continue  # a "cancel" that arrived after its job had finished
        try:
            result = jobs.handle(pipe, job, _Channel(conn).progress, emit=_Channel(conn).emit)
            conn.send(("done", result))
        except TalkerError as e:
            conn.send(("error", e.message, e.code))
        except Exception as e:  # noqa: BLE001 - the visitor gets one line, the log gets the trace
            traceback.print_exc()
            conn.send(("error", f"Generation failed inside the worker ({type(e).__name__}: {str(e)[:200]}). "
                                "Try again; if it keeps failing, report the input you used.", "internal"))


class _Channel:
    """The worker's side of a job's messages; each one also looks for the app's "cancel"."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def _check(self) -> None:
        while self.conn.poll():
            if self.conn.recv() == "cancel":
                raise JobCancelled()

    def progress(self, fraction: float, description: str) -> None:
        self._check()
        self.conn.send(("progress", float(fraction), str(description)))

    def emit(self, event: dict) -> None:
        self.conn.send(("chunk", event))
        self._check()


# -- in the app process ---------------------------------------------------------------------------
class Worker:
    """One worker process and its pipe; restarted transparently after a crash or time-out."""

    def __init__(self, env: dict | None = None, warmup: bool = True) -> None:
        self.env = dict(env or {})
        self.warmup = warmup
        self.proc = None
        self.conn = None
        self.info: dict = {}
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.is_alive()

    def start(self) -> None:
        ctx = mp.get_context("spawn")  # fork would copy the web server's threads and sockets
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, self.env, self.warmup), name="talker-worker",
                                daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent
        self.info = {}

    def stop(self, kill: bool = False) -> None:
        proc, conn = self.proc, self.conn
        self.proc = self.conn = None
        if proc is None:
            return
        if not kill and proc.is_alive():
            try:
                conn.send(None)
                proc.join(5)
            except (OSError, BrokenPipeError):
                pass
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        if conn is not None:
            conn.close()

    def run(self, job: dict, progress: Progress | None = None, timeout: float = 300.0, *,
            on_chunk: Callable[[dict], None] | None = None, cancel: threading.Event | None = None) -> dict:
        """The job's result. ``on_chunk``: called with each piece of the video as it is ready;
        ``cancel``: once set, the worker is told to stop (``JobFailed`` with code "cancelled")."""
        step = progress or (lambda f, d: None)
        cancelled = False
        if not self.alive():
            if self.proc is not None:
                self.stop(kill=True)
            self.start()
        try:
            self.conn.send(job)
        except (OSError, BrokenPipeError):
            return self._crashed()
        deadline = time.monotonic() + timeout
        while True:
            try:
                ready = self.conn.poll(0.2)
            except (OSError, EOFError):
                return self._crashed()
            if ready:
                try:
                    msg = self.conn.recv()
                except (EOFError, OSError):
                    return self._crashed()
                if msg[0] == "progress":
                    step(msg[1], msg[2])
                elif msg[0] == "chunk":
                    if on_chunk is not None:
                        on_chunk(msg[1])
                elif msg[0] == "ready":
                    self.info = msg[1]
                elif msg[0] == "done":
                    return msg[1]
                elif msg[0] == "error":
                    raise JobFailed(msg[1], msg[2])
                continue
            if cancel is not None and cancel.is_set() and not cancelled:
                cancelled = True
                try:
                    self.conn.send("cancel")
                except (OSError, BrokenPipeError):
                    return self._crashed()
            if not self.proc.is_alive():
                return self._crashed()
            if time.monotonic() > deadline:
                log.warning("job over its %.0f s limit; restarting the worker", timeout)
                self.stop(kill=True)
                self._restart()
                raise JobTimeout(f"The job took longer than the {timeout:.0f} s limit and was stopped.",
                                 "Try a shorter text or audio.")

    def _crashed(self):
        code = self.proc.exitcode if self.proc is not None else None
        if self.proc is not None:
            self.proc.join(1)
            code = self.proc.exitcode
        log.warning("worker died mid-job (exit code %s); starting a new one", code)
        self.stop(kill=True)
        self._restart()
        raise WorkerError(f"The generator process stopped unexpectedly (exit code {code}) and was restarted.",
                          "Please run the job again.")

    def _restart(self) -> None:
        self.restarts += 1
        self.start()  # warm the next one now, so the next job does not wait for it


class WorkerPool:
    """``size`` workers for ``size`` concurrent jobs; each job borrows one for its duration."""

    def __init__(self, size: int = 1, env: dict | None = None, warmup: bool = True) -> None:
        self.workers = [Worker(env, warmup) for _ in range(max(1, size))]
        self._free: queue.Queue[Worker] = queue.Queue()
        for w in self.workers:
            self._free.put(w)
        self._lock = threading.Lock()
        atexit.register(self.close)

    def start(self) -> None:
        for w in self.workers:
            if not w.alive():
                w.start()

    def pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.alive()]

    def run(self, job: dict, progress: Progress | None = None, timeout: float = 300.0, **kwargs) -> dict:
        w = self._free.get()
        try:
            return w.run(job, progress, timeout, **kwargs)
        finally:
            self._free.put(w)

    def close(self) -> None:
        for w in self.workers:
            w.stop()


class InProcessRunner:
    """For ZeroGPU, where the GPU exists only inside a ``spaces.GPU`` call in the app process."""

    def __init__(self, env: dict | None = None) -> None:
        os.environ.update(env or {})
        self._pipe = None
        self.workers: list = []
        try:
            import spaces  # type: ignore[import-not-found]

            self._call = spaces.GPU(duration=120)(self._call)
        except ImportError:
            pass

    def start(self) -> None:
        pass

    def pids(self) -> list[int]:
        return []

    def close(self) -> None:
        pass

    def run(self, job: dict, progress: Progress | None = None, timeout: float = 300.0, *,
            on_chunk: Callable[[dict], None] | None = None, cancel: threading.Event | None = None) -> dict:
        step = progress or (lambda f, d: None)

        def check() -> None:
            if cancel is not None and cancel.is_set():
                raise JobCancelled()

        def checked(fraction: float, description: str) -> None:
            check()
            step(fraction, description)

        def emit(event: dict) -> None:
            if on_chunk is not None:
                on_chunk(event)
            check()

        try:
            return self._call(job, checked, emit)
        except JobCancelled as e:
            raise JobFailed(e.message, e.code) from None

    def _call(self, job: dict, progress: Progress, emit=None) -> dict:
        from ..pipeline import PipelineConfig, TalkerPipeline
        from . import jobs

        if self._pipe is None:
            self._pipe = TalkerPipeline(PipelineConfig(templates_dir=os.environ.get("TALKER_TEMPLATES_DIR")))
        return jobs.handle(self._pipe, job, progress, emit=emit)


def on_zero_gpu() -> bool:
    return bool(os.environ.get("SPACES_ZERO_GPU"))


def make_runner(concurrency: int, env: dict, warmup: bool = True):
    if on_zero_gpu():
        return InProcessRunner(env)
    return WorkerPool(concurrency, env, warmup)
