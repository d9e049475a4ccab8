#!/usr/bin/env python3
"""The phases of bench/cutover/isolate.sh (see there): one open-loop load through the router,
and in turn nothing, HAProxy switches over a held runtime API session, engine inspects,
host process starts and engine execs, each every 0.5 s. Prints, per phase, the median over
rounds of the p99 of all requests and of those due in the 30 ms after each event."""

import argparse
import bisect
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (read_load, pct)

SOCKET = "/var/lib/haproxy/admin.sock"
AFTER = 0.030  # seconds after an event whose requests count as "near" it


class Session:
    """One HAProxy runtime API session in interactive mode, held open through `docker exec -i`."""

    def __init__(self, router):
        self.p = subprocess.Popen(["docker", "exec", "-i", router, "socat", "-t5", "stdio",
                                   f"unix-connect:{SOCKET}"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self.call("prompt")

    def call(self, line):
        self.p.stdin.write((line + "\n").encode())
        out, deadline = b"", time.monotonic() + 10
        while not out.endswith(b"\n> "):
            chunk = self.p.stdout.read(65536)
            if not chunk or time.monotonic() > deadline:
                raise SystemExit(f"isolate: the runtime API session ended; last answer: {out!r}")
            out += chunk
        return out.decode()

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


class Switcher:
    """Moves the traffic between the two releases the way a deploy does to HAProxy, in one
    runtime API call per event: the slot drained at the previous event goes to maintenance,
    a free slot gets the other release's address and is made ready, the serving one drains."""

    def __init__(self, session, backend, addrs, serving):
        self.s, self.b = session, backend
        self.addrs = addrs  # the two releases' addresses
        self.slot, self.addr = serving
        self.free = [n for n in ("s3", "s4", "s5") if n != self.slot]
        self.draining = None

    def __call__(self):
        b = self.b
        other = self.addrs[1] if self.addr == self.addrs[0] else self.addrs[0]
        new = self.free.pop(0)
        forget = f"set server {b}/{self.draining} state maint;" if self.draining else ""
        self.s.call(f"{forget}set server {b}/{new} addr {other} port 8080;set server {b}/{new} weight 100;"
                    f"set server {b}/{new} state ready;set server {b}/{self.slot} state drain;"
                    f"show servers state {b}")
        if self.draining:
            self.free.append(self.draining)
        self.draining, self.slot, self.addr = self.slot, new, other


def inspect(container_id):
    s = socket.socket(socket.AF_UNIX)
    s.connect("/var/run/docker.sock")
    s.sendall(f"GET /containers/{container_id}/json HTTP/1.1\r\nHost: docker\r\n"
              "Connection: close\r\n\r\n".encode())
    while s.recv(65536):
        pass
    s.close()


def main():
    ap = argparse.ArgumentParser()
    for k in ("--load", "--router", "--backend", "--work"):
        ap.add_argument(k, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8)
    a = ap.parse_args()

    session = Session(a.router)
    state = session.call(f"show servers state {a.backend}").splitlines()
    slots = [ln.split() for ln in state if ln[:1].isdigit() and len(ln.split()) > 7 and ln.split()[1] == a.backend]
    # Not in maintenance (srv_admin_state without 0x01, 0x02, 0x20; 0x04 only says the
    # config wrote `disabled`): the serving v2. The v1 standby's slot was freed.
    serving = [(f[3], f[4]) for f in slots if int(f[6]) & 0x23 == 0]
    if len(serving) != 1:
        raise SystemExit(f"isolate: expected one serving slot, found {serving}")
    ids = subprocess.check_output(["docker", "ps", "-q", "--filter", f"label=deploy-action.service={a.backend}",
                                   "--filter", "label=deploy-action.release"]).decode().split()
    addrs = []
    for cid in ids:
        ip = subprocess.check_output(["docker", "inspect", "-f",
                                      "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", cid]).decode().split()
        addrs.extend(ip[:1])
    if len(addrs) != 2 or serving[0][1] not in addrs:
        raise SystemExit(f"isolate: expected the two releases running, found {addrs}")
    switch = Switcher(session, a.backend, addrs, serving[0])
    app_id = ids[0]

    phases = [("idle", None), ("switch", switch), ("inspect", lambda: inspect(app_id)),
              ("spawn", lambda: subprocess.run(["/bin/true"])),
              ("exec", lambda: subprocess.run(["docker", "exec", a.router, "socat", "-V"],
                                              stdout=subprocess.DEVNULL))]
    total = a.rounds * len(phases) * a.seconds + 3
    csv = os.path.join(a.work, "load.csv")
    load = subprocess.Popen([a.load, "--port", str(a.port), "--duration", str(int(total) + 1), "--out", csv],
                            stdout=subprocess.DEVNULL)
    time.sleep(1.5)
    events = []  # (round, phase, event start, event end, phase start, phase end)
    try:
        for r in range(a.rounds):
            for name, act in phases:
                t0 = time.monotonic()
                first = len(events)
                while time.monotonic() < t0 + a.seconds - 0.5:
                    time.sleep(0.5)
                    t = time.monotonic()
                    if act:
                        act()
                    events.append((r, name, t, time.monotonic()))
                events[first:] = [e + (t0, t0 + a.seconds) for e in events[first:]]
                while time.monotonic() < t0 + a.seconds:
                    time.sleep(0.05)
    finally:
        load.terminate()
        load.wait(timeout=10)
        session.close()

    ld = bench.read_load(csv)
    failed = sum(1 for t in ld["tag"] if bench.is_failure(t))

    def lat(spans):
        out = []
        for s, e in spans:
            i, j = bisect.bisect_left(ld["t0"], s), bisect.bisect_left(ld["t0"], e)
            out.extend(x for x, t in zip(ld["lat_ms"][i:j], ld["tag"][i:j]) if not bench.is_failure(t))
        return out

    print(f"open loop 1000 req/s, 8 connections; {a.rounds} round(s) x {len(phases)} phases of {a.seconds:g} s;"
          f" {len(ld['t0'])} requests, {failed} failed")
    print(f"{'phase':8s} {'p99 all':>9s} {'p99 near':>9s} {'>3 ms near':>11s}   (median of rounds; near = due"
          f" within {AFTER * 1000:.0f} ms after an event)")
    base = None
    for name, _ in phases:
        p_all, p_near, slow = [], [], []
        for r in range(a.rounds):
            ev = [e for e in events if e[0] == r and e[1] == name]
            if not ev:
                continue
            whole = lat([(ev[0][4], ev[0][5])])
            near = lat([(s, s + AFTER) for _, _, s, _, _, _ in ev])
            p_all.append(bench.pct(whole, 99))
            p_near.append(bench.pct(near, 99))
            slow.append(sum(1 for x in near if x > 3.0))
        m_all, m_near = statistics.median(p_all), statistics.median(p_near)
        base = base or m_near
        print(f"{name:8s} {m_all:7.2f}ms {m_near:7.2f}ms {statistics.median(slow):11.0f}   near/idle"
              f" {m_near / base:.2f}x")


if __name__ == "__main__":
    main()
