#!/usr/bin/python3
"""catalog_client.py - sequential /api/search latencies against a warm `aularag serve`, for bench_catalog.sh.

  catalog_client.py PORT QUESTIONS.txt MODE ROUNDS [COURSE] [CLIENTS]

One keep-alive connection per client; each client sends every question ROUNDS times (after one warm-up
pass that is not timed). Prints "p50_ms p99_ms requests errors" over all timed requests.
"""
import http.client, json, sys, threading, time, urllib.parse


def main(a):
    port, qfile, mode, rounds = int(a[0]), a[1], a[2], int(a[3])
    course = a[4] if len(a) > 4 and a[4] != "-" else None
    clients = int(a[5]) if len(a) > 5 else 1
    qs = [l.strip() for l in open(qfile, encoding="utf-8") if l.strip()]
    lat, errs, lock = [], [0], threading.Lock()

    def one(conn, q):
        u = "/api/search?k=10&mode=%s&q=%s" % (mode, urllib.parse.quote(q))
        if course:
            u += "&course=" + urllib.parse.quote(course)
        t0 = time.perf_counter()
        conn.request("GET", u)
        r = conn.getresponse()
        body = r.read()
        dt = (time.perf_counter() - t0) * 1000
        ok = r.status == 200 and json.loads(body).get("segments")
        return dt, bool(ok)

    def client(ci):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for q in qs:  # warm-up: page cache, decoded postings, the mapped vectors
            one(conn, q)
        for r in range(rounds):
            for i in range(len(qs)):
                q = qs[(i + ci * 7 + r) % len(qs)]
                dt, ok = one(conn, q)
                with lock:
                    lat.append(dt)
                    if not ok:
                        errs[0] += 1
        conn.close()

    ts = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in ts: t.start()
    for t in ts: t.join()
    lat.sort()
    p = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
    print("%.2f %.2f %d %d" % (p(0.50), p(0.99), len(lat), errs[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
