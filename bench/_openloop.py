"""An open-loop, constant-rate HTTP load generator with coordinated-omission-correct latency.

Each request has an intended send time (start + i / rate, spread over the processes);
it is sent at that time whether or not earlier requests have been answered, and its
latency is measured from the intended time to the end of the answer. A server that
stalls therefore shows the stall in every request that should have gone meanwhile,
not only in the one that was in flight (what a closed-loop tool like wrk reports).

Requests go over a fresh connection each (gunicorn's sync workers close after every
answer anyway), from several processes so one Python event loop is never the limit.
"""

import asyncio
import multiprocessing
import time
from urllib.parse import urlsplit

TIMEOUT = 10.0


def _request_bytes(url, body: bytes, headers: dict) -> bytes:
    parts = urlsplit(url)
    lines = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode() + body


async def _one(host, port, payload, intended, results):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
        writer.write(payload)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), TIMEOUT)
        await asyncio.wait_for(reader.read(), TIMEOUT)
        writer.close()
        ok = status_line.split(b" ")[1:2] == [b"200"]
    except (OSError, TimeoutError, IndexError):
        ok = False
    results.append((time.time() - intended, ok))


async def _run(url, payload, rate, seconds, start, offset, step):
    parts = urlsplit(url)
    results, tasks = [], []
    count = int(rate * seconds)
    for i in range(offset, count, step):
        intended = start + i / rate
        delay = intended - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(parts.hostname, parts.port, payload, intended, results)))
    await asyncio.gather(*tasks)
    return results


def _process(args):
    url, payload, rate, seconds, start, offset, step = args
    return asyncio.run(_run(url, payload, rate, seconds, start, offset, step))


def run(url, body: bytes, headers: dict, rate: float, seconds: float, processes: int = 2):
    """Send `rate` requests/s for `seconds`; returns (sorted latencies in ms of good answers, failures, sent)."""
    payload = _request_bytes(url, body, headers)
    start = time.time() + 0.5
    jobs = [(url, payload, rate, seconds, start, n, processes) for n in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.map(_process, jobs)
    latencies = sorted(latency * 1000 for part in parts for latency, ok in part if ok)
    failures = sum(1 for part in parts for _, ok in part if not ok)
    return latencies, failures, sum(len(part) for part in parts)


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(q * len(sorted_values) + 0.999999) - 1))
    return sorted_values[index]


async def _answered(host, port, payload, intended):
    results = []
    await _one(host, port, payload, intended, results)
    return results[0]


async def send_planned(url, planned):
    """Open loop over distinct requests: `planned` is [(intended epoch time, request bytes)] in time order.

    Each is sent at its intended time whatever happened to the earlier ones; returns
    [(seconds from the intended time to the end of the answer, ok)] in the same order."""
    parts = urlsplit(url)
    tasks = []
    for intended, payload in planned:
        delay = intended - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_answered(parts.hostname, parts.port, payload, intended)))
    return await asyncio.gather(*tasks)


def request_bytes(url, body: bytes, headers: dict) -> bytes:
    """One POST with its own connection, as `send_planned` sends it."""
    return _request_bytes(url, body, headers)
