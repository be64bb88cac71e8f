#!/usr/bin/env python3
"""When the slow requests of a step happened: reads a trace of emtiaz-loadgen (--trace FILE) and prints

- the bursts of requests slower than THRESHOLD ms (requests scheduled within 30 ms of each other are one
  burst), with the time from the previous burst;
- the period, between 300 and 1,200 ms, that gathers most of them into one twentieth of its phase: a stall
  that comes back on a timer (a sampling kernel thread, a service's periodic task) shows as one period with
  most of the slow requests in it, a random one does not;
- the generator's own sleeper wake-ups later than 10 ms (a core the generator could not get).

    bench/slow_requests.py TRACE [THRESHOLD_MS=20]
    bench/slow_requests.py TRACE --windows SECONDS

With --windows it prints one JSON object instead: the p99 latency of the requests sent in each window of SECONDS
from the first (scripts/bench.sh records it for its sustained step).

The trace's times are microseconds of the Unix epoch, so a burst can be lined up with a server's log or with
`perf record -k 1` (CLOCK_MONOTONIC: subtract time.time() - time.monotonic() taken during the step).
"""
import json
import sys


def read_trace(path):
    """(requests sorted by scheduled time as (scheduled_us, latency_us, status), sleeper as (due_us, late_us))."""
    requests, sleeper = [], []
    for line in open(path):
        f = line.split()
        if len(f) != 3:
            continue
        if f[0] == "sleeper":
            sleeper.append((int(f[1]), int(f[2])))
        else:
            requests.append((int(f[0]), int(f[1]), int(f[2])))
    requests.sort()
    return requests, sleeper


def windows(requests, seconds):
    """{"kind": "sustained_windows", "window_s": seconds, "p99_ms": [...]}: the p99 of each window's requests."""
    by_window = {}
    for t, lat, _ in requests:
        by_window.setdefault((t - requests[0][0]) // (seconds * 1_000_000), []).append(lat)
    p99 = [round(sorted(v)[int(len(v) * 0.99)] / 1000, 1) for _, v in sorted(by_window.items())]
    return {"kind": "sustained_windows", "window_s": seconds, "p99_ms": p99}


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    requests, sleeper = read_trace(sys.argv[1])
    if len(sys.argv) > 3 and sys.argv[2] == "--windows":
        print(json.dumps(windows(requests, int(sys.argv[3]))))
        return 0
    threshold_us = float(sys.argv[2] if len(sys.argv) > 2 else 20) * 1000
    if not requests:
        print("no requests in the trace")
        return 1
    t0 = requests[0][0]
    slow = [r for r in requests if r[1] > threshold_us]
    print(f"{len(requests):,} requests, {len(slow):,} slower than {threshold_us / 1000:g} ms "
          f"({100.0 * len(slow) / len(requests):.2f} %)")

    bursts = []  # [first scheduled, last scheduled, count, slowest]
    for t, lat, _ in slow:
        if bursts and t - bursts[-1][1] < 30_000:
            b = bursts[-1]
            b[1], b[2], b[3] = t, b[2] + 1, max(b[3], lat)
        else:
            bursts.append([t, t, 1, lat])
    previous = None
    for first, last, n, worst in bursts:
        gap = f"  +{(first - previous) / 1e6:.3f} s" if previous is not None else ""
        print(f"  {(first - t0) / 1e6:9.3f} s  {n:4d} requests over {(last - first) / 1000:6.1f} ms, "
              f"slowest {worst / 1000:7.1f} ms{gap}")
        previous = first

    if len(slow) >= 6:
        scores = []
        for period_ms in range(300, 1201):
            p = period_ms * 1000
            bins = [0] * 20
            for t, _, _ in slow:
                bins[int((t % p) * 20 // p)] += 1
            scores.append((max(bins) / len(slow), period_ms))
        scores.sort(reverse=True)
        share, period = scores[0]
        print(f"period gathering most of them: {period} ms ({100 * share:.0f} % of the slow requests in 1/20 of "
              f"its phase; evenly spread would be 5 %)")

    if sleeper:
        print(f"generator's sleeper woke > 10 ms late {len(sleeper)} times:")
        for t, late in sleeper:
            print(f"  {(t - t0) / 1e6:9.3f} s  {late / 1000:6.1f} ms late")
    return 0


if __name__ == "__main__":
    sys.exit(main())
