"""The load-generating process: ``python -m bench.loadgen SPEC.json RESULT.json``.

It runs apart from the harness so that its own CPU can be measured (it shares the
machine with the server and the database). ``concurrency`` clients, each one
keep-alive connection, send requests back to back (a closed loop) until ``duration``
seconds or ``max_requests`` requests, whichever comes first. The first ``warmup``
seconds are sent but not measured. Django is never imported here.

Spec keys: base_url, scenario, fixtures, concurrency, duration, warmup, max_requests,
timeout. The result holds the summary of ``bench.stats.summarize`` plus the process's
CPU time over the run.
"""

import asyncio
import json
import resource
import sys
import time

import aiohttp

from bench.scenarios import by_name
from bench.stats import summarize


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _drive(spec: dict) -> dict:
    scenario = by_name(spec["scenario"])
    fixtures = spec["fixtures"]
    concurrency = int(spec["concurrency"])
    base_url = spec["base_url"].rstrip("/")
    max_requests = int(spec["max_requests"])
    if not fixtures:
        raise ValueError("no fixtures: the scenario's setup returned nothing")

    headers_for = [
        {"Authorization": f"Bearer {f['token']}"} if f.get("token") else {} for f in fixtures
    ]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    issued = 0

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=float(spec["timeout"]))
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        start = time.perf_counter()
        measure_from = start + float(spec["warmup"])
        deadline = measure_from + float(spec["duration"])

        async def client(k: int) -> None:
            nonlocal issued
            i = 0
            while issued < max_requests and time.perf_counter() < deadline:
                issued += 1
                index = (k + i * concurrency) % len(fixtures)
                req = scenario.request(fixtures[index], issued)
                headers = headers_for[index]
                data = None
                if req.body is not None:
                    headers = {**headers, "Content-Type": "application/json"}
                    data = json.dumps(req.body).encode()
                t0 = time.perf_counter()
                try:
                    async with session.request(
                        req.method, base_url + req.path, data=data, headers=headers
                    ) as response:
                        await response.read()
                        key = str(response.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    key = type(exc).__name__
                t1 = time.perf_counter()
                statuses[key] = statuses.get(key, 0) + 1
                if measure_from <= t1 <= deadline:
                    latencies.append(t1 - t0)
                i += 1

        cpu_before = _cpu_seconds()
        await asyncio.gather(*(client(k) for k in range(concurrency)))
        wall = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu_before

    window = min(deadline, time.perf_counter()) - measure_from
    result = summarize(latencies, window_seconds=window, statuses=statuses)
    result.update(
        scenario=scenario.name,
        concurrency=concurrency,
        issued=issued,
        loadgen_cpu_seconds=round(cpu, 3),
        loadgen_wall_seconds=round(wall, 3),
        loadgen_cpu_percent=round(100 * cpu / wall, 1) if wall > 0 else None,
    )
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m bench.loadgen SPEC.json RESULT.json", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        spec = json.load(f)
    result = asyncio.run(_drive(spec))
    with open(argv[2], "w") as f:
        json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
