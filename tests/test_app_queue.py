"""The app under load and failure: a full queue answers with a message, a killed worker costs
one job, a job over its time limit is stopped; the server keeps serving throughout."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from .test_app import AppServer, assert_playable, generate_args


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = AppServer(tmp_path_factory.mktemp("app-queue"), "--queue-size", "4", "--concurrency", "1",
                    "--job-timeout", "120")
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


def test_ten_concurrent_requests_with_queue_of_four(server, client):
    from gradio_client import Client

    results: dict[int, tuple[str, str, float]] = {}
    t0 = time.perf_counter()

    def one(i: int) -> None:
        c = client if i == 0 else Client(server.url, verbose=False)
        try:
            out = c.predict(*generate_args(f"Request {i} served."), api_name="/generate")
            results[i] = ("served", out[1], time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001 - refusals are the point
            results[i] = ("refused", str(e), time.perf_counter() - t0)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert len(results) == 10, "some requests hung"
    served = {i: r for i, r in results.items() if r[0] == "served"}
    refused = {i: r for i, r in results.items() if r[0] == "refused"}
    for _, msg, _ in refused.values():
        assert "queue is full" in msg.lower(), msg
    for _, video, _ in served.values():
        assert_playable(video, 1.0)
    assert 1 <= len(served) and len(refused) >= 1
    print(f"\nqueue: {len(served)} served (done at {sorted(round(r[2], 1) for r in served.values())} s), "
          f"{len(refused)} refused (answered at {sorted(round(r[2], 1) for r in refused.values())} s)")
    assert server.healthy()
    _live, video, *_ = client.predict(*generate_args("Still serving after the rush."), api_name="/generate")
    assert_playable(video, 1.0)


def test_killed_worker_fails_one_job_then_recovers(server, client):
    from gradio_client.utils import Status

    before = server.worker_pids()
    assert before, "no worker process found"
    long_text = " ".join(["This sentence keeps the worker busy for a while so it can be stopped mid job."] * 6)
    job = client.submit(*generate_args(long_text, size="1280"), api_name="/generate")
    deadline = time.monotonic() + 60
    while job.status().code != Status.PROGRESS and time.monotonic() < deadline:
        time.sleep(0.2)  # PROGRESS: the worker has reported a stage, so it is mid-job
    assert job.status().code == Status.PROGRESS, job.status()
    time.sleep(1.0)
    pids = server.worker_pids()
    assert pids
    os.kill(pids[0], signal.SIGKILL)
    with pytest.raises(Exception, match="stopped unexpectedly") as e:
        job.result(timeout=120)
    assert "Traceback" not in str(e.value)
    t = time.perf_counter()
    _live, video, *_rest, summary = client.predict(*generate_args("Back on my feet again."), api_name="/generate")
    assert_playable(video, 1.0)
    assert server.healthy() and server.worker_pids() and server.worker_pids() != pids
    print(f"\nafter the kill the next job took {time.perf_counter() - t:.1f} s")


def test_job_over_the_time_limit_is_stopped_and_the_worker_restarts(tmp_path):
    from talker.app.worker import JobTimeout, Worker
    from talker.paths import DEFAULT_TEMPLATES_DIR

    w = Worker({"TALKER_TEMPLATES_DIR": str(DEFAULT_TEMPLATES_DIR)}, warmup=False)
    try:
        job = {"kind": "generate", "out_dir": str(tmp_path / "out"), "template": "astronaut",
               "text": "A job that cannot finish in a tenth of a second.", "options": {"max_side": 512}}
        with pytest.raises(JobTimeout, match="limit"):
            w.run(job, timeout=0.1)
        assert w.restarts == 1 and w.alive()
        assert w.run({"kind": "ping"}, timeout=120)["pid"] == w.pid
    finally:
        w.stop()
    assert not w.alive()
