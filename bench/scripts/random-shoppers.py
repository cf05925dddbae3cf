#!/usr/bin/env python3
"""Requests for uniformly random shoppers against a running `persona serve`, over keep-alive connections.

Used for restarts of a kept `persona bench scale` store (bench/README.md), where the bench's own load cannot run:

    python3 bench/scripts/random-shoppers.py PORT KIND COUNT USERS CATEGORIES [SEED]

KIND is profile, recommend or search (a query `cat-C` for a uniformly random category C, personalised for the
shopper). Prints the rate, p50 and p99 and the status codes. 16 client threads, one connection each.
"""
import http.client
import random
import sys
import threading
import time

port, kind, count, users, categories = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(int(sys.argv[6]) if len(sys.argv) > 6 else 11)
paths = []
for _ in range(count):
    user = rng.randint(1, users)
    if kind == "profile":
        paths.append(f"/v1/users/{user}/profile")
    elif kind == "recommend":
        paths.append(f"/v1/users/{user}/recommendations?n=10")
    else:
        paths.append(f"/v1/search?q=cat-{rng.randint(1, categories)}&n=20&user={user}")

lock = threading.Lock()
latencies = []
codes = {}


def worker(part):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for path in part:
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            codes[response.status] = codes.get(response.status, 0) + 1


threads = [threading.Thread(target=worker, args=(paths[i::16],)) for i in range(16)]
started = time.perf_counter()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
elapsed = time.perf_counter() - started
latencies.sort()
print(f"{kind}: {count} in {elapsed:.1f} s ({count / elapsed:.0f}/s), p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
      f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms, codes {codes}")
