#!/usr/bin/env python3
"""Helpers of bench/cutover/run.sh (standard library only). Not meant to be run alone.

  probe      GET the router URL from loopback in a loop (keep-alive, bounded in time),
             recording for every request when it was sent and answered, and by which
             version (`hello from <version>`) or with which error.
  cycles     Run N cycles of `deploy v2`, `deploy v1`, `rollback`, recording each command's
             start and end on the same clock as the probe, its --json output, and the
             arrival time of each line the tool logs, from which its router-switch window.
  control-prepare, control
             The control phase: the switch phase's container work (docker run / stop / rm
             of the app image, on the same schedule) with no router change.
  phase      Reduce one (run, router kind): wrk's counters, the probe's records and the
             cycles, and the open-loop load's records (load.rs) of the switch, control and
             steady phases, into the figures the benchmark reports.
  summarize  Median of runs per router kind, goals, the machine; writes the JSON results
             and prints the human summary.

Every timestamp is CLOCK_MONOTONIC (time.monotonic(), and clock_gettime in load.rs), which
is one clock for every process on the machine, so the probe, the load, the cycle driver and
the control driver can be compared directly.
"""

import argparse
import bisect
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

# Goals, from the brief the benchmark answers.
GOAL_P99_RATIO = 1.5
GOAL_ROLLBACK_MS = 1000.0

HELLO = b"hello from "


# ----------------------------------------------------------------------------- probe


def cmd_probe(a):
    stop = False

    def on_signal(_sig, _frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    url = urllib.parse.urlsplit(a.url)
    host, port, path = url.hostname, url.port or 80, url.path or "/"
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"probe: refusing to send traffic to {host}: loopback only")
    interval = a.interval_ms / 1000.0
    deadline = time.monotonic() + a.max_seconds
    t0s, t1s, tags = [], [], []
    conn = None
    while not stop and time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=a.timeout)
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            t1 = time.monotonic()
            if resp.status == 200 and body.startswith(HELLO):
                tag = body[len(HELLO):].strip().decode("utf-8", "replace")
            else:
                tag = f"status:{resp.status}"
            if resp.will_close:
                conn.close()
                conn = None
        except Exception as e:  # every failure is a data point, never a crash
            t1 = time.monotonic()
            tag = f"error:{type(e).__name__}"
            if conn is not None:
                conn.close()
            conn = None
        t0s.append(round(t0, 6))
        t1s.append(round(t1, 6))
        tags.append(tag)
        if interval > 0:
            time.sleep(interval)
    if conn is not None:
        conn.close()
    with open(a.out, "w") as f:
        json.dump({"clock": "monotonic", "url": a.url, "t0": t0s, "t1": t1s, "tag": tags}, f)


# ---------------------------------------------------------------------------- cycles


ANSI = re.compile(r"\x1b\[[0-9;]*m")

# The phase the tool logs (tracing, info level, on stderr) as it begins to change the router,
# and what it logs when it has verified the switch (the next phase, whatever it is).
SWITCH_PHASE = "switch traffic and verify"


def switch_window(log, start, end):
    """The router-switch window of one command, on the monotonic clock: from the arrival of
    the log line `switch traffic and verify` to the arrival of the next log line (the next
    phase: the drain). The tool's --json output has durations only (`timings.switch_ms`), no
    timestamp, so the times are taken as the lines arrive on the pipe (within a millisecond
    or so when the machine is not saturated; the phase reduction reports the window's length
    minus `switch_ms` as a check). The window holds the release's address look-up, the
    router change and the verification through the router; for a deploy also the read-back
    of the router's routes before the drain line (tens of ms with nginx). Without the lines
    (another RUST_LOG, a changed message), the whole command, marked `source: command`."""
    for i, (t, line) in enumerate(log):
        if line.endswith(SWITCH_PHASE):
            later = [u for u, _ in log[i + 1:]]
            if later:
                return {"start": t, "end": later[0], "source": "log"}
            return {"start": t, "end": end, "source": "log-to-command-end"}
    return {"start": start, "end": end, "source": "command"}


def run_tool(a, args):
    """Runs one deploy-action command with --json. Its stderr is read as it comes, and
    every line stamped with time.monotonic() on arrival: the tool logs no time itself."""
    env = dict(os.environ)
    for k in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "RUST_LOG"):
        env.pop(k, None)
    argv = [a.bin, "--json", "--config", a.config, *args]
    log, out_chunks = [], []

    def read_err(stream):
        for raw in iter(stream.readline, b""):
            t = time.monotonic()
            log.append([round(t, 6), ANSI.sub("", raw.decode("utf-8", "replace")).rstrip()])

    def read_out(stream):
        out_chunks.append(stream.read())

    start = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    readers = [threading.Thread(target=read_err, args=(p.stderr,), daemon=True),
               threading.Thread(target=read_out, args=(p.stdout,), daemon=True)]
    for r in readers:
        r.start()
    try:
        rc = p.wait(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = "timeout"
    end = time.monotonic()
    for r in readers:
        r.join(timeout=5)
    out = b"".join(out_chunks).decode("utf-8", "replace")
    rec = {"argv": args, "start": round(start, 6), "end": round(end, 6),
           "wall_ms": round((end - start) * 1000, 1), "rc": rc}
    try:
        doc = json.loads(out)
        body = doc.get("deployed") or doc.get("rolled_back") or {}
        rec.update({k: body.get(k) for k in ("release", "version", "warm", "timings")})
    except (ValueError, AttributeError):
        pass
    rec["log"] = log
    rec["switch_window"] = switch_window(log, rec["start"], rec["end"])
    if rc != 0:
        rec["stderr_tail"] = [line for _, line in log[-15:]]
    return rec


def cmd_cycles(a):
    steps = [("deploy-v2", ["deploy", "--image", a.v2]),
             ("deploy-v1", ["deploy", "--image", a.v1]),
             ("rollback", ["rollback"])]
    records, quiet, failures_in_a_row = [], [], 0
    for cycle in range(1, a.cycles + 1):
        for name, args in steps:
            rec = run_tool(a, args)
            rec.update({"cycle": cycle, "step": name})
            records.append(rec)
            ok = rec["rc"] == 0
            print(f"    cycle {cycle:2d} {name:9s} {'ok ' if ok else 'FAILED rc=' + str(rec['rc'])}"
                  f" {rec['wall_ms']:7.0f} ms" + (f" -> {rec.get('version')}" if ok else ""),
                  file=sys.stderr, flush=True)
            if not ok:
                for line in rec.get("stderr_tail", []):
                    print(f"      | {line}", file=sys.stderr)
            failures_in_a_row = 0 if ok else failures_in_a_row + 1
            if a.quiet_ms > 0:
                # A quiet gap: the load runs on, the tool does nothing. Only its second half
                # counts as quiet: the engine finishes some of a command's work after the
                # command has returned (a stopped container's teardown), and that belongs to the
                # command. Interleaved with the commands, the quiet halves are a steady state
                # measured under the same drift of the machine as the commands themselves.
                time.sleep(a.quiet_ms / 2000.0)
                qs = time.monotonic()
                time.sleep(a.quiet_ms / 2000.0)
                quiet.append([round(qs, 6), round(time.monotonic(), 6)])
            if failures_in_a_row >= 3:
                print("    three failures in a row: stopping the cycles", file=sys.stderr)
                break
        else:
            continue
        break
    with open(a.out, "w") as f:
        json.dump({"clock": "monotonic", "commands": records, "quiet": quiet}, f, indent=1)


# --------------------------------------------------------------------------- control

# Containers of the control phase carry the service's label (so that run.sh's teardown
# removes them, whatever happens) and this one; never deploy-action.role, so the tool, which
# lists releases by service AND role, never sees them.
CONTROL_LABEL = "deploy-action.bench=control"


def docker_op(args, timeout=60.0):
    start = time.monotonic()
    try:
        p = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
        rc, out, err = p.returncode, p.stdout.strip(), p.stderr.strip()
    except subprocess.TimeoutExpired:
        rc, out, err = "timeout", "", ""
    end = time.monotonic()
    rec = {"op": args[0], "start": round(start, 6), "end": round(end, 6),
           "ms": round((end - start) * 1000, 1), "rc": rc}
    if rc != 0:
        rec["err"] = err[-300:]
        print(f"    control: docker {' '.join(args[:2])} failed: {err[-300:]}", file=sys.stderr)
    return rec, out


def control_run(a, image):
    return docker_op(["run", "-d", "--network", a.network, "--label", f"deploy-action.service={a.service}",
                      "--label", CONTROL_LABEL, image])


def cmd_control_prepare(a):
    """The control's starting point, like the tool's after a few cycles: three stopped
    releases (created, never started), a standby and a serving one (running)."""
    state = []
    for i in range(3):
        rec, cid = docker_op(["create", "--network", a.network, "--label", f"deploy-action.service={a.service}",
                              "--label", CONTROL_LABEL, a.v1 if i % 2 else a.v2])
        if rec["rc"] == 0:
            state.append({"id": cid, "state": "stopped"})
    for image in (a.v2, a.v1):
        rec, cid = control_run(a, image)
        if rec["rc"] != 0:
            sys.exit("control-prepare: cannot start a container of the app image")
        state.append({"id": cid, "state": "running"})
    with open(a.out, "w") as f:
        json.dump({"containers": state}, f, indent=1)


def log_lines(c):
    """A command's log lines as (seconds after the command's start, message)."""
    return [(t - c["start"], line.split("INFO ", 1)[1] if "INFO " in line else line)
            for t, line in c.get("log") or []]


def cmd_control(a):
    """The control phase: the container work of the switch phase's commands, on the same
    schedule, with no router change and no deploy-action process. For each command of the
    switch phase (`--cycles`), at the same offset from this phase's start, it does what the
    tool did to release containers, at the moments the tool's log lines say it began:
      deploy    `docker run -d` of the app image at "start release ...";
      rollback  `docker stop` of the newest running container after "drain and stop the
                release rolled back from" plus the configured drain (the tool's sleep);
      both      `docker stop` at each "stopping standby release ..." (the oldest running
                container but the newest) and `docker rm` at each "pruning release ..."
                (the oldest stopped one).
    Without log lines it falls back to the command's `timings` (a deploy's stop and prune
    after start + health wait + switch + drain). It does not replay the tool's own process,
    its engine queries, its health probes or anything done to the router (the docker exec
    into the router container): the `docker` CLI processes stand in for the tool's process.
    It also records, for each router-switch window of the switch phase, the window at the
    same offset in this phase."""
    commands = read_json(a.cycles)["commands"]
    state = read_json(a.state)["containers"]
    drain_s = parse_duration_ms(a.drain) / 1000.0
    ops = []
    if not commands:
        sys.exit("control: no command to replay")
    ref = commands[0]["start"]
    t0 = time.monotonic()
    deadline = t0 + a.max_seconds

    def at(t):
        t = min(t, deadline)
        while True:
            left = t - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.5))

    def act(action, image):
        running = [x for x in state if x["state"] == "running"]
        stopped = [x for x in state if x["state"] == "stopped"]
        if action == "run":
            rec, cid = control_run(a, image)
            if rec["rc"] == 0:
                state.append({"id": cid, "state": "running"})
        elif action in ("stop-standby", "stop-newest"):
            victims = running[-1:] if action == "stop-newest" else running[:-1][:1]
            if not victims:
                return {"op": action, "skipped": "no container to stop"}
            rec, _ = docker_op(["stop", "-t", str(a.stop_timeout), victims[0]["id"]])
            victims[0]["state"] = "stopped"
        elif action == "prune":
            if not stopped:
                return {"op": action, "skipped": "no stopped container"}
            rec, _ = docker_op(["rm", stopped[0]["id"]])
            state.remove(stopped[0])
        else:
            raise AssertionError(action)
        rec["action"] = action
        return rec

    steps = []
    for c in commands:
        if time.monotonic() >= deadline:
            print("    control: out of time, stopping", file=sys.stderr)
            break
        at(t0 + c["start"] - ref)
        step_start = time.monotonic()
        if c["rc"] != 0:
            steps.append({"step": c["step"], "start": round(step_start, 6), "skipped": "the command failed"})
            continue
        tm = c.get("timings") or {}
        lines = log_lines(c)
        plan = []
        if lines:
            source = "log"
            for off, msg in lines:
                if msg.startswith("start release"):
                    plan.append((off, "run"))
                elif msg.startswith("drain and stop the release rolled back from"):
                    plan.append((off + drain_s, "stop-newest"))
                elif msg.startswith("stopping standby release"):
                    plan.append((off, "stop-standby"))
                elif msg.startswith("pruning release"):
                    plan.append((off, "prune"))
        else:
            source = "timings"
            switched = (tm.get("start_ms", 0) + tm.get("health_wait_ms", 0) + tm.get("switch_ms", 0)) / 1000.0
            if c["step"].startswith("deploy"):
                plan += [(0.0, "run"), (switched + tm.get("drain_ms", 0) / 1000.0, "stop-standby"),
                         (switched + tm.get("drain_ms", 0) / 1000.0, "prune")]
            else:
                plan.append((switched + drain_s, "stop-newest"))
        image = a.v2 if c["step"] == "deploy-v2" else a.v1
        for off, action in sorted(plan, key=lambda x: x[0]):
            at(step_start + off)
            rec = act(action, image)
            rec.update({"step": c["step"], "planned_offset_s": round(off, 3)})
            ops.append(rec)
        steps.append({"step": c["step"], "source": source, "start": round(step_start, 6),
                      "end": round(time.monotonic(), 6), "offset_s": round(step_start - t0, 3),
                      "switch_phase_offset_s": round(c["start"] - ref, 3)})
    windows = []
    for c in commands:
        w = c.get("switch_window")
        if c["rc"] == 0 and w:
            windows.append([round(t0 + w["start"] - ref, 6), round(t0 + w["end"] - ref, 6)])
    with open(a.out, "w") as f:
        json.dump({"clock": "monotonic", "t0": round(t0, 6), "ref": ref, "steps": steps, "ops": ops,
                   "windows": windows, "containers_left": state}, f, indent=1)
    counts = {}
    for o in ops:
        if "skipped" not in o:
            counts[o["op"]] = counts.get(o["op"], 0) + 1
    print(f"    control: {len(steps)} steps replayed, docker ops {counts}"
          f" ({sum(1 for o in ops if o.get('rc', 0) != 0)} failed,"
          f" {sum(1 for o in ops if 'skipped' in o)} skipped)", file=sys.stderr)


# ----------------------------------------------------------------------------- phase


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def read_wrk(path):
    with open(path) as f:
        text = f.read()
    for line in text.splitlines():
        if line.startswith("WRK_JSON "):
            w = json.loads(line[len("WRK_JSON "):])
            e = w["errors"]
            w["socket_errors"] = e["connect"] + e["read"] + e["write"] + e["timeout"]
            w["non_2xx_3xx"] = e["status"]
            w["failed"] = w["socket_errors"] + w["non_2xx_3xx"]
            w["rps"] = round(w["requests"] / (w["duration_us"] / 1e6), 1) if w["duration_us"] else None
            w["p99_ms"] = w["latency_us"]["p99"] / 1000.0
            w["p50_ms"] = w["latency_us"]["p50"] / 1000.0
            w["p999_ms"] = w["latency_us"]["p999"] / 1000.0
            w["max_ms"] = w["latency_us"]["max"] / 1000.0
            w["text"] = text
            return w
    raise SystemExit(f"{path}: no WRK_JSON line (did wrk run with -s report.lua?):\n{text}")


def read_json(path):
    with open(path) as f:
        return json.load(f)


def probe_stats(p, start=None, end=None):
    lat, errors, n = [], {}, 0
    for t0, t1, tag in zip(p["t0"], p["t1"], p["tag"]):
        if (start is not None and t0 < start) or (end is not None and t0 >= end):
            continue
        n += 1
        if tag.startswith(("error:", "status:")):
            errors[tag] = errors.get(tag, 0) + 1
        else:
            lat.append((t1 - t0) * 1000)
    return {"requests": n, "failed": sum(errors.values()), "errors": errors,
            "p50_ms": round(pct(lat, 50), 2) if lat else None,
            "p99_ms": round(pct(lat, 99), 2) if lat else None,
            "max_ms": round(max(lat), 2) if lat else None}


def cutover(p, start, end, target):
    """When, after `start`, every answer comes from `target`: the answer time of the first
    request of the last unbroken run of `target` answers among requests sent in [start, end)."""
    win = [(t0, t1, tag) for t0, t1, tag in zip(p["t0"], p["t1"], p["tag"]) if start <= t0 < end]
    if not win:
        return {"cutover_ms": None, "probes": 0, "note": "no probe request in the window"}
    last_bad = -1
    for i, (_, _, tag) in enumerate(win):
        if tag != target:
            last_bad = i
    first_good = next((i for i, w in enumerate(win) if w[2] == target), None)
    out = {"probes": len(win),
           "failed": sum(1 for w in win if w[2].startswith(("error:", "status:"))),
           "other_answers_after_first_target": sum(
               1 for w in win[first_good or 0:] if w[2] != target) if first_good is not None else None}
    if last_bad + 1 >= len(win):
        out.update({"cutover_ms": None, "note": f"never all `{target}` before the next command"})
        return out
    out["cutover_ms"] = round((win[last_bad + 1][1] - start) * 1000, 1)
    out["first_target_answer_ms"] = round((win[first_good][1] - start) * 1000, 1)
    return out


def split_deploy(wall, t, drain_ms):
    """A deploy's wall time: waiting for health, the configured drain (a deliberate wait),
    and the tool's own overhead, which is everything else: container start, router switch and
    verification, the router clean-up after the drain (the part of the tool's `drain_ms` above
    the configured drain), retention, and the process's own start-up, engine connect, router
    check, convergence and final listing (`outside_timings_ms` = wall - timings.total_ms)."""
    hw, dr = t.get("health_wait_ms", 0), t.get("drain_ms", 0)
    drain_wait = min(dr, drain_ms) if drain_ms is not None else dr
    return {
        "health_wait_ms": hw,
        "drain_ms": drain_wait,
        "overhead_ms": round(wall - hw - drain_wait, 1),
        "start_ms": t.get("start_ms"),
        "switch_verify_ms": t.get("switch_ms"),
        "after_drain_cleanup_ms": dr - drain_wait,
        "outside_timings_ms": round(wall - t.get("total_ms", 0), 1),
    }


def parse_duration_ms(text):
    """`1s`, `500ms`, `2m` -> milliseconds (the forms run.sh passes as --drain)."""
    text = text.strip()
    for unit, factor in (("ms", 1), ("s", 1000), ("m", 60000)):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * factor
    raise SystemExit(f"cannot read the duration {text!r} (use e.g. 500ms, 1s, 2m)")


def time_slice(p, start, end):
    """The records of a probe (or of the open-loop load) sent in [start, end); both keep
    their records in time order."""
    i, j = bisect.bisect_left(p["t0"], start), bisect.bisect_left(p["t0"], end)
    return {"t0": p["t0"][i:j], "t1": p["t1"][i:j], "tag": p["tag"][i:j]}


def split_commands(commands, probe, serving, drain_ms=None):
    """Per command: wall time, the tool's timings, and the cutover the probe saw.
    `serving` is the version serving before the first command."""
    probe_end = max(probe["t0"] or [0]) + 1
    rollbacks, deploys = [], []
    for i, c in enumerate(commands):
        nxt = commands[i + 1]["start"] if i + 1 < len(commands) else probe_end
        t = c.get("timings") or {}
        base = {"cycle": c["cycle"], "step": c["step"], "rc": c["rc"], "wall_ms": c["wall_ms"],
                "version": c.get("version"), "timings": t}
        if c.get("switch_window"):
            w = c["switch_window"]
            base["switch_window"] = {"source": w["source"], "offset_ms": round((w["start"] - c["start"]) * 1000, 1),
                                     "length_ms": round((w["end"] - w["start"]) * 1000, 1)}
        if c["rc"] != 0 or not c.get("version"):
            base["failed_command"] = True
            (rollbacks if c["step"] == "rollback" else deploys).append(base)
            continue
        co = cutover(time_slice(probe, c["start"], nxt), c["start"], nxt, c["version"])
        # A deploy of the version already serving (deploy v2 right after the rollback to v2)
        # changes nothing a client can see: it has no cutover to time.
        co["version_changed"] = c["version"] != serving
        if not co["version_changed"]:
            co["cutover_ms"] = None
        serving = c["version"]
        base["probe"] = co
        if c["step"] == "rollback":
            base["warm"] = c.get("warm")
            rollbacks.append(base)
        else:
            base["split"] = split_deploy(c["wall_ms"], t, drain_ms)
            deploys.append(base)
    return rollbacks, deploys, serving


def rollback_summary(rollbacks):
    ok = [r for r in rollbacks if not r.get("failed_command")]
    cut = [r["probe"]["cutover_ms"] for r in ok]
    return {
        "cutover_ms": cut,
        "cutover_median_ms": median(cut),
        "never_converged": sum(1 for c in cut if c is None),
        "all_warm": all(r.get("warm") for r in ok) if ok else None,
        "command_wall_ms": [r["wall_ms"] for r in ok],
        "command_wall_median_ms": median([r["wall_ms"] for r in ok]),
        "switch_verify_median_ms": median([r["timings"].get("switch_ms") for r in ok]),
        "probe_failed": sum(r["probe"].get("failed", 0) for r in ok),
        "target_versions": sorted({r["version"] for r in ok}),
    }


def deploy_summary(deploys):
    ok = [d for d in deploys if not d.get("failed_command")]
    sum_wall = sum(d["wall_ms"] for d in ok) or None

    def share(k):
        return round(sum(d["split"][k] for d in ok) / sum_wall, 3) if sum_wall else None

    out = {"count": len(ok), "wall_median_ms": median([d["wall_ms"] for d in ok])}
    for k in ("health_wait_ms", "drain_ms", "overhead_ms", "start_ms", "switch_verify_ms",
              "after_drain_cleanup_ms", "outside_timings_ms"):
        out[k.replace("_ms", "_median_ms")] = median([d["split"][k] for d in ok])
    out.update({"health_share": share("health_wait_ms"), "drain_share": share("drain_ms"),
                "overhead_share": share("overhead_ms"),
                "cutover_median_ms": median([d["probe"]["cutover_ms"] for d in ok])})
    return out


WRK_KEYS = ("duration_us", "requests", "rps", "errors", "socket_errors", "non_2xx_3xx",
            "failed", "p50_ms", "p99_ms", "p999_ms", "max_ms", "latency_us")


def read_load(path):
    """The records of bench/cutover/load.rs: per request, its due time (CLOCK_MONOTONIC, in
    seconds here, the unit of time.monotonic()), its latency from that time and how late it
    was sent (ms), and its outcome. Plus the figures of the header line."""
    due, lat, lag, tag, header = [], [], [], [], {}
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                header = dict(kv.split("=", 1) for kv in line[1:].split() if "=" in kv)
                continue
            if line.startswith("due_ns"):
                continue
            d, lg, lt, _conn, outcome = line.rstrip("\n").split(",", 4)
            due.append(int(d) / 1e9)
            lag.append(int(lg) / 1000.0)
            lat.append(int(lt) / 1000.0)
            tag.append(outcome)
    if header.get("clock") != "CLOCK_MONOTONIC":
        raise SystemExit(f"{path}: not the output of bench/cutover/load.rs")
    return {"t0": due, "t1": [d + l / 1000.0 for d, l in zip(due, lat)], "lat_ms": lat, "lag_ms": lag,
            "tag": tag, "start": int(header["start_ns"]) / 1e9, "end": int(header["end_ns"]) / 1e9,
            "unsent_at_stop": int(header.get("unsent_at_stop", 0))}


def is_failure(tag):
    return tag.startswith(("error:", "status:"))


def load_stats(ld, windows=None):
    """Requests, failures and latency percentiles (successful requests, from the due time)
    of the open-loop load: all of it, or only the requests due inside `windows`."""
    if windows is None:
        idx = range(len(ld["t0"]))
        span = (min(ld["end"], ld["t0"][-1]) - ld["start"]) if ld["t0"] else 0.0
    else:
        idx, span = [], 0.0
        for ws, we in sorted(windows):
            i, j = bisect.bisect_left(ld["t0"], ws), bisect.bisect_left(ld["t0"], we)
            idx.extend(range(i, j))
            span += max(0.0, we - ws)
        idx = sorted(set(idx))
    lat, lag, errors = [], [], {}
    for i in idx:
        t = ld["tag"][i]
        lag.append(ld["lag_ms"][i])
        if is_failure(t):
            errors[t] = errors.get(t, 0) + 1
        else:
            lat.append(ld["lat_ms"][i])
    r2 = lambda x: None if x is None else round(x, 3)  # noqa: E731
    out = {"requests": len(idx), "failed": sum(errors.values()), "errors": errors,
           "p50_ms": r2(pct(lat, 50)), "p90_ms": r2(pct(lat, 90)), "p99_ms": r2(pct(lat, 99)),
           "p999_ms": r2(pct(lat, 99.9)), "max_ms": r2(max(lat) if lat else None),
           "lag_p99_ms": r2(pct(lag, 99)), "seconds": round(span, 3),
           "rate": round(len(idx) / span, 1) if span > 0 else None}
    if windows is None:
        out["unsent_at_stop"] = ld["unsent_at_stop"]
    else:
        out["windows"] = len(windows)
    return out


def outside(windows, start, end):
    """The complement of `windows` in [start, end)."""
    out, t = [], start
    for ws, we in sorted(windows):
        if ws > t:
            out.append((t, min(ws, end)))
        t = max(t, we)
    if t < end:
        out.append((t, end))
    return out


# What the tool is doing, named from the log line that begins it.
SEGMENTS = (("deploying ", "prepare"), ("rolling back ", "prepare"), ("start release", "start"),
            ("wait for health", "health"), ("switch traffic and verify", "switch"),
            ("drain and stop the release rolled back from", "drain+stop"), ("drain ", "drain"),
            ("stopping standby release", "stop-standby"), ("pruning release", "prune"))


def tool_segments(commands, ld):
    """Latency of the open-loop requests by what the tool was doing when they were due:
    `process` from the command's start to its first log line (process start, engine connect,
    router check, convergence, release listing), then one segment per log line up to the
    next (the last one up to the command's end), and `between` commands. A diagnostic: the
    segments are short and a p99 of a few hundred requests is rough."""
    spans = []
    for c in commands:
        kind = "rollback" if c["step"] == "rollback" else "deploy"
        pts = [(c["start"], "process")]
        for t, line in c.get("log") or []:
            msg = line.split("INFO ", 1)[1] if "INFO " in line else line
            pts.append((t, next((name for prefix, name in SEGMENTS if msg.startswith(prefix)), "other")))
        pts.append((c["end"], None))
        for (ta, name), (tb, _) in zip(pts, pts[1:]):
            spans.append((ta, tb, f"{kind}:{name}"))
    groups = {}
    for ta, tb, name in spans:
        groups.setdefault(name, []).append((ta, tb))
    cmd_spans = [(c["start"], c["end"]) for c in commands]
    if ld["t0"]:
        groups["between"] = outside(cmd_spans, ld["t0"][0], ld["t0"][-1] + 1e-6)
    out = {}
    for name, wins in groups.items():
        st = load_stats(ld, wins)
        out[name] = {k: st[k] for k in ("requests", "failed", "p50_ms", "p99_ms", "max_ms", "seconds")}
    return out


# "During a switch": its window (the router change and the verification through the router)
# and this long after it, while the load's connections move to the release switched to.
MOMENT_AFTER_S = 0.05


def moments(windows):
    return [(ws, we + MOMENT_AFTER_S) for ws, we in windows]


def ratio(x, base):
    return round(x / base, 3) if x is not None and base else None


def open_phase(a, serving, drain_ms):
    steady, switch, control = read_load(a.open_steady), read_load(a.open_switch), read_load(a.open_control)
    cycles = read_json(a.open_cycles)
    commands, quiet = cycles["commands"], [tuple(q) for q in cycles.get("quiet") or []]
    ctl = read_json(a.open_control_ops)
    ok = [c for c in commands if c["rc"] == 0 and c.get("switch_window")]
    windows = [(c["switch_window"]["start"], c["switch_window"]["end"]) for c in ok]
    sources = {}
    for c in ok:
        sources[c["switch_window"]["source"]] = sources.get(c["switch_window"]["source"], 0) + 1
    # How the window from the log lines compares with the tool's own switch_ms (the part of
    # the window that is the switch and its verification, by the tool's clock).
    excess = [round((c["switch_window"]["end"] - c["switch_window"]["start"]) * 1000 - c["timings"]["switch_ms"], 1)
              for c in ok if c["switch_window"]["source"] == "log" and (c.get("timings") or {}).get("switch_ms") is not None]
    st = load_stats(steady)
    ctl_windows = [tuple(w) for w in ctl["windows"]]
    figures = {
        "steady": st,
        "switches": load_stats(switch),
        "windows": load_stats(switch, windows),
        "outside_windows": load_stats(switch, outside(windows, switch["start"], min(
            switch["end"], switch["t0"][-1] + 1e-6 if switch["t0"] else switch["start"]))),
        "control": load_stats(control),
        "control_windows": load_stats(control, ctl_windows),
        "moments": load_stats(switch, moments(windows)),
        "control_moments": load_stats(control, moments(ctl_windows)),
    }
    rollbacks, deploys, serving = split_commands(commands, switch, serving, drain_ms)
    ops = {}
    for o in ctl["ops"]:
        d = ops.setdefault(o.get("action", o["op"]), {"count": 0, "failed": 0, "skipped": 0, "ms": []})
        if "skipped" in o:
            d["skipped"] += 1
            continue
        d["count"] += 1
        d["failed"] += o["rc"] != 0
        d["ms"].append(o["ms"])
    for d in ops.values():
        d["median_ms"] = median(d.pop("ms"))
    interleaved = {}
    if quiet:
        # The same phase split in two: requests due in the quiet halves of the gaps, and all
        # the others from the first command's start to the last gap's end (the commands and
        # what the engine still did for them after they returned).
        busy = outside(quiet, commands[0]["start"], quiet[-1][1]) if commands else []
        interleaved = {"quiet": load_stats(switch, quiet), "in_commands": load_stats(switch, busy)}
        q99 = interleaved["quiet"]["p99_ms"]
        interleaved["p99_vs_quiet"] = {
            "in_commands": ratio(interleaved["in_commands"]["p99_ms"], q99),
            "windows": ratio(figures["windows"]["p99_ms"], q99),
            "control": ratio(figures["control"]["p99_ms"], q99),
        }
    result = {
        "rate": a.rate,
        "connections": a.open_connections,
        **figures,
        **interleaved,
        "p99_ratio": {k: ratio(v["p99_ms"], st["p99_ms"]) for k, v in figures.items() if k != "steady"},
        "by_tool_segment": tool_segments(commands, switch),
        "window_source": sources,
        "window_length_median_ms": median([round((w[1] - w[0]) * 1000, 1) for w in windows]),
        "window_minus_switch_ms_median": median(excess),
        "commands": {"total": len(commands), "failed": sum(1 for c in commands if c["rc"] != 0),
                     "switches": sum(1 for c in commands if c["rc"] == 0)},
        "rollback": rollback_summary(rollbacks),
        "deploy": deploy_summary(deploys),
        "per_command": rollbacks + deploys,
        "control_ops": ops,
        "control_steps": len(ctl["steps"]),
        "loadavg": {"before": a.open_load_before, "after": a.open_load_after},
    }
    return result, serving


def cmd_phase(a):
    drain_ms = parse_duration_ms(a.drain)
    serving = "v1"  # the warm-up deploys v1
    result = {"run": a.run, "kind": a.kind, "loads": []}
    if a.switch_wrk:
        steady_wrk, switch_wrk = read_wrk(a.steady_wrk), read_wrk(a.switch_wrk)
        steady_probe, switch_probe = read_json(a.steady_probe), read_json(a.switch_probe)
        commands = read_json(a.cycles)["commands"]
        rollbacks, deploys, serving = split_commands(commands, switch_probe, serving, drain_ms)
        result.update({
            "steady": {k: steady_wrk[k] for k in WRK_KEYS},
            "switches": {k: switch_wrk[k] for k in WRK_KEYS},
            "p99_ratio": round(switch_wrk["p99_ms"] / steady_wrk["p99_ms"], 3) if steady_wrk["p99_ms"] else None,
            "probe": {"steady": probe_stats(steady_probe), "switches": probe_stats(switch_probe)},
            "commands": {"total": len(commands), "failed": sum(1 for c in commands if c["rc"] != 0),
                         "switches": sum(1 for c in commands if c["rc"] == 0)},
            "rollback": rollback_summary(rollbacks),
            "deploy": deploy_summary(deploys),
            "per_command": rollbacks + deploys,
            "loadavg": {"before": a.load_before, "after": a.load_after},
        })
        result["loads"].append("wrk")
    if a.idle_cycles:
        # Diagnostic: the same cycles with the probe alone (no load), to separate what the
        # load costs from what the tool costs.
        idle_probe = read_json(a.idle_probe)
        idle_cmds = read_json(a.idle_cycles)["commands"]
        rb, dp, serving = split_commands(idle_cmds, idle_probe, serving, drain_ms)
        result["idle"] = {"rollback": rollback_summary(rb), "deploy": deploy_summary(dp),
                          "probe": probe_stats(idle_probe), "per_command": rb + dp}
    if a.open_switch:
        result["open"], serving = open_phase(a, serving, drain_ms)
        result["loads"].append("open")
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    if "switches" in result:
        s, w = result["steady"], result["switches"]
        print(f"  {a.kind} run {a.run} wrk: switches {w['requests']} req, {w['failed']} failed, p99 {w['p99_ms']:.2f} ms"
              f" | steady {s['requests']} req, {s['failed']} failed, p99 {s['p99_ms']:.2f} ms"
              f" | ratio {result['p99_ratio']} | rollback median {fmt_ms(result['rollback']['cutover_median_ms'])}",
              file=sys.stderr)
    if "open" in result:
        o = result["open"]
        print(f"  {a.kind} run {a.run} open-loop {o['rate']:g} req/s: p99 steady {fmt_ms(o['steady']['p99_ms'], 2)}"
              f" | switch phase {fmt_ms(o['switches']['p99_ms'], 2)} ({o['switches']['failed']} failed)"
              f" | switch windows {fmt_ms(o['windows']['p99_ms'], 2)} ({o['windows']['requests']} req)"
              f" | control {fmt_ms(o['control']['p99_ms'], 2)}"
              f" | rollback median {fmt_ms(o['rollback']['cutover_median_ms'])}", file=sys.stderr)


# ------------------------------------------------------------------------- summarize


def fmt_ms(x, digits=0):
    return "n/a" if x is None else f"{x:.{digits}f} ms"


def wrk_summary(runs):
    """The wrk phases (closed loop), median of runs."""
    all_cut = [c for r in runs for c in r["rollback"]["cutover_ms"]]

    def m(f):
        return median([f(r) for r in runs])

    summary = {
        "switches": {
            "requests": m(lambda r: r["switches"]["requests"]),
            "failed": m(lambda r: r["switches"]["failed"]),
            "socket_errors": m(lambda r: r["switches"]["socket_errors"]),
            "non_2xx_3xx": m(lambda r: r["switches"]["non_2xx_3xx"]),
            "p50_ms": m(lambda r: r["switches"]["p50_ms"]),
            "p99_ms": m(lambda r: r["switches"]["p99_ms"]),
            "rps": m(lambda r: r["switches"]["rps"]),
            "duration_s": m(lambda r: r["switches"]["duration_us"] / 1e6),
            "router_switches": m(lambda r: r["commands"]["switches"]),
            "failed_per_switch": m(lambda r: r["switches"]["failed"] / r["commands"]["switches"]
                                   if r["commands"]["switches"] else None),
        },
        "steady": {
            "requests": m(lambda r: r["steady"]["requests"]),
            "failed": m(lambda r: r["steady"]["failed"]),
            "p50_ms": m(lambda r: r["steady"]["p50_ms"]),
            "p99_ms": m(lambda r: r["steady"]["p99_ms"]),
            "rps": m(lambda r: r["steady"]["rps"]),
            "duration_s": m(lambda r: r["steady"]["duration_us"] / 1e6),
        },
        "p99_ratio": m(lambda r: r["p99_ratio"]),
        "rollback": {
            "cutover_median_ms": m(lambda r: r["rollback"]["cutover_median_ms"]),
            "cutover_median_all_ms": median(all_cut),
            "cutover_max_ms": max([c for c in all_cut if c is not None], default=None),
            "cutover_all_ms": all_cut,
            "command_wall_median_ms": m(lambda r: r["rollback"]["command_wall_median_ms"]),
            "switch_verify_median_ms": m(lambda r: r["rollback"]["switch_verify_median_ms"]),
            "all_warm": all(r["rollback"]["all_warm"] for r in runs),
            "never_converged": sum(r["rollback"]["never_converged"] for r in runs),
        },
        "deploy": {k: m(lambda r, k=k: r["deploy"][k]) for k in DEPLOY_KEYS},
        "probe": {
            "switches_failed": m(lambda r: r["probe"]["switches"]["failed"]),
            "steady_failed": m(lambda r: r["probe"]["steady"]["failed"]),
        },
    }
    ratio_, rb = summary["p99_ratio"], summary["rollback"]["cutover_median_ms"]
    summary["goals"] = {
        "p99_ratio_le_1_5": None if ratio_ is None else ratio_ <= GOAL_P99_RATIO,
        "rollback_median_lt_1s": None if rb is None else rb < GOAL_ROLLBACK_MS,
        "zero_failed_requests": all(r["switches"]["failed"] == 0 for r in runs),
    }
    return summary


DEPLOY_KEYS = ("wall_median_ms", "health_wait_median_ms", "drain_median_ms", "overhead_median_ms",
               "start_median_ms", "switch_verify_median_ms", "after_drain_cleanup_median_ms",
               "outside_timings_median_ms", "health_share", "drain_share", "overhead_share",
               "cutover_median_ms")
OPEN_PARTS = ("steady", "switches", "windows", "outside_windows", "control", "control_windows", "moments",
              "control_moments")


def open_summary(runs):
    """The open-loop phases, median of runs (each figure separately, as for wrk)."""

    def m(f):
        return median([f(r) for r in runs])

    all_cut = [c for r in runs for c in r["rollback"]["cutover_ms"]]
    out = {"rate": runs[0]["rate"], "connections": runs[0]["connections"]}
    for part in OPEN_PARTS:
        out[part] = {k: m(lambda r, k=k: r[part][k]) for k in
                     ("requests", "failed", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "lag_p99_ms",
                      "seconds")}
        out[part]["max_ms"] = max((r[part]["max_ms"] for r in runs if r[part]["max_ms"] is not None), default=None)
        errors = {}
        for r in runs:
            for k, v in r[part]["errors"].items():
                errors[k] = errors.get(k, 0) + v
        out[part]["errors_all_runs"] = errors
    out["switches"]["unsent_at_stop"] = sum(r["switches"]["unsent_at_stop"] for r in runs)
    out["windows"]["windows"] = m(lambda r: r["windows"]["windows"])
    out["p99_ratio"] = {part: m(lambda r, part=part: r["p99_ratio"][part]) for part in OPEN_PARTS if part != "steady"}
    out["p99_ratio_per_run"] = {part: [r["p99_ratio"][part] for r in runs] for part in OPEN_PARTS if part != "steady"}
    sources = {}
    for r in runs:
        for k, v in r["window_source"].items():
            sources[k] = sources.get(k, 0) + v
    out["window_source"] = sources
    out["window_length_median_ms"] = m(lambda r: r["window_length_median_ms"])
    segs = []
    for r in runs:
        for k in r["by_tool_segment"]:
            if k not in segs:
                segs.append(k)
    out["by_tool_segment"] = {
        k: {f: median([r["by_tool_segment"][k][f] for r in runs if k in r["by_tool_segment"]])
            for f in ("requests", "failed", "p50_ms", "p99_ms", "seconds")}
        for k in segs}
    out["window_minus_switch_ms_median"] = m(lambda r: r["window_minus_switch_ms_median"])
    if all("quiet" in r for r in runs):
        for part in ("quiet", "in_commands"):
            out[part] = {k: m(lambda r, k=k: r[part][k]) for k in ("requests", "failed", "p50_ms", "p99_ms", "seconds")}
        out["p99_vs_quiet"] = {k: m(lambda r, k=k: r["p99_vs_quiet"][k]) for k in runs[0]["p99_vs_quiet"]}
        out["p99_vs_quiet_per_run"] = {k: [r["p99_vs_quiet"][k] for r in runs] for k in runs[0]["p99_vs_quiet"]}
    out["rollback"] = {
        "cutover_median_ms": m(lambda r: r["rollback"]["cutover_median_ms"]),
        "cutover_max_ms": max([c for c in all_cut if c is not None], default=None),
        "cutover_all_ms": all_cut,
        "command_wall_median_ms": m(lambda r: r["rollback"]["command_wall_median_ms"]),
        "all_warm": all(r["rollback"]["all_warm"] for r in runs),
    }
    out["deploy"] = {k: m(lambda r, k=k: r["deploy"][k]) for k in DEPLOY_KEYS}
    ops = {}
    for r in runs:
        for op, d in r["control_ops"].items():
            x = ops.setdefault(op, {"count": [], "failed": 0})
            x["count"].append(d["count"])
            x["failed"] += d["failed"]
    out["control_ops"] = {op: {"count_median": median(x["count"]), "failed": x["failed"]} for op, x in ops.items()}
    out["switch_phase_docker_ops_note"] = ("the control replays container start/stop/remove only; the switch "
                                           "phase also runs the tool and its docker exec into the router")
    return out


def cmd_summarize(a):
    phases = [read_json(p) for p in a.phases]
    machine = read_json(a.machine)
    params = json.loads(a.params)
    kinds = []
    for p in phases:
        if p["kind"] not in kinds:
            kinds.append(p["kind"])
    per_kind = {}
    for kind in kinds:
        runs = sorted((p for p in phases if p["kind"] == kind), key=lambda p: p["run"])
        summary = {"runs": len(runs), "goals": {}}
        if all("switches" in r for r in runs):
            summary.update(wrk_summary(runs))
        if all("open" in r for r in runs):
            summary["open"] = open_summary([r["open"] for r in runs])
            o = summary["open"]["p99_ratio"]
            summary["goals"].update({
                "open_switch_phase_p99_ratio_le_1_5": None if o["switches"] is None else o["switches"] <= GOAL_P99_RATIO,
                "open_switch_windows_p99_ratio_le_1_5": None if o["windows"] is None else o["windows"] <= GOAL_P99_RATIO,
                "open_switch_moments_p99_ratio_le_1_5": None if o["moments"] is None else o["moments"] <= GOAL_P99_RATIO,
                "open_zero_failed_requests": all(r["open"]["switches"]["failed"] == 0 for r in runs),
            })
            if "rollback" not in summary:
                rb = summary["open"]["rollback"]["cutover_median_ms"]
                summary["goals"]["rollback_median_lt_1s"] = None if rb is None else rb < GOAL_ROLLBACK_MS
        idle = [r["idle"] for r in runs if "idle" in r]
        if idle:
            all_idle = [c for i in idle for c in i["rollback"]["cutover_ms"]]
            summary["idle"] = {
                "rollback_cutover_median_ms": median(all_idle),
                "rollback_cutover_all_ms": all_idle,
                "rollback_command_wall_median_ms": median(
                    [w for i in idle for w in i["rollback"]["command_wall_ms"]]),
                "deploy_wall_median_ms": median([i["deploy"]["wall_median_ms"] for i in idle]),
                "deploy_overhead_median_ms": median([i["deploy"]["overhead_median_ms"] for i in idle]),
                "deploy_health_wait_median_ms": median([i["deploy"]["health_wait_median_ms"] for i in idle]),
                "probe_failed": sum(i["probe"]["failed"] for i in idle),
            }
        summary["commands_failed"] = sum(r["commands"]["failed"] for r in runs if "commands" in r) + sum(
            r["open"]["commands"]["failed"] for r in runs if "open" in r)
        per_kind[kind] = {"median_of_runs": summary, "runs": runs}

    doc = {"benchmark": "cutover", "version": 2, "params": params, "machine": machine,
           "results": per_kind}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
    text = human(doc)
    if a.text_out:
        with open(a.text_out, "w") as f:
            f.write(text)
    print(text)


def yn(x):
    return "n/a" if x is None else ("met" if x else "MISSED")


def xr(x):
    return "n/a" if x is None else f"{x:.2f}x"


def human(doc):
    p, mach = doc["params"], doc["machine"]
    load = p.get("load", "wrk")
    loads = []
    if load in ("wrk", "both"):
        loads.append(f"wrk -t{p['threads']} -c{p['connections']} keep-alive (closed loop)")
    if load in ("open", "both"):
        loads.append(f"open loop {p.get('rate')} req/s over {p['connections']} keep-alive connections (load.rs)")
    lines = [
        "",
        "== deploy-action cutover benchmark ==",
        f"{p['runs']} run(s) x {p['cycles']} cycle(s) (deploy v2, deploy v1, rollback) per router and load,"
        f" routers in {p.get('mode', 'container')} mode;"
        f" {'; '.join(loads)}; steady {p['steady']};"
        f" drain {p['drain']}, health interval {p['interval']} ({p['health']}), standby {p['standby']}",
        f"machine: {mach.get('nproc')} CPU ({mach.get('cpu')}), {mach.get('mem_total')}, kernel {mach.get('kernel')},"
        f" docker {mach.get('docker')}, {mach.get('haproxy')}, {mach.get('nginx')}, {mach.get('wrk')}",
        f"tool: {mach.get('git_commit')}{' (+ uncommitted changes)' if mach.get('git_dirty') else ''}",
        "",
    ]
    for kind, r in doc["results"].items():
        s = r["median_of_runs"]
        g = s["goals"]
        lines.append(f"-- {kind} (median of {s['runs']} runs) --")
        if "switches" in s:
            lines += human_wrk(s, r["runs"])
        if "open" in s:
            lines += human_open(s["open"], g, r["runs"])
        if "idle" in s:
            i = s["idle"]
            lines.append(
                f"  no load (probe only, diagnostic): rollback cutover median {fmt_ms(i['rollback_cutover_median_ms'])}"
                f" (all: {' '.join('-' if c is None else f'{c:.0f}' for c in i['rollback_cutover_all_ms'])});"
                f" deploy wall {fmt_ms(i['deploy_wall_median_ms'])}, of which tool overhead"
                f" {fmt_ms(i['deploy_overhead_median_ms'])}; probe failures {i['probe_failed']}")
        if s["commands_failed"]:
            lines.append(f"  !! {s['commands_failed']} deploy-action command(s) failed; see per_command in the JSON")
        lines.append("")
    return "\n".join(lines)


def human_wrk(s, runs):
    sw, st, rb, dp, g = s["switches"], s["steady"], s["rollback"], s["deploy"], s["goals"]
    return [
        "  [wrk, closed loop: latency of the requests sent; a stall sends fewer]",
        f"  during switches : {sw['requests']:.0f} requests, {sw['failed']:.0f} failed"
        f" ({sw['socket_errors']:.0f} socket errors, {sw['non_2xx_3xx']:.0f} non-2xx/3xx)"
        f" over {sw['router_switches']:.0f} switches in {sw['duration_s']:.0f} s;"
        f" p50 {sw['p50_ms']:.2f} ms, p99 {sw['p99_ms']:.2f} ms",
        f"  steady state    : {st['requests']:.0f} requests, {st['failed']:.0f} failed in {st['duration_s']:.0f} s;"
        f" p50 {st['p50_ms']:.2f} ms, p99 {st['p99_ms']:.2f} ms",
        f"  p99 ratio       : {xr(s['p99_ratio'])}   (goal <= {GOAL_P99_RATIO}x: {yn(g['p99_ratio_le_1_5'])})",
        f"  rollback (warm) : cutover median {fmt_ms(rb['cutover_median_ms'])}, max {fmt_ms(rb['cutover_max_ms'])}"
        f" (goal < 1 s: {yn(g['rollback_median_lt_1s'])}); command wall median {fmt_ms(rb['command_wall_median_ms'])}"
        f"{'' if rb['all_warm'] else '  [NOT all from warm standby]'}",
        f"                    all cutovers (ms): {' '.join('-' if c is None else f'{c:.0f}' for c in rb['cutover_all_ms'])}",
        f"  deploy          : wall {fmt_ms(dp['wall_median_ms'])} = health wait {fmt_ms(dp['health_wait_median_ms'])}"
        f" ({pct_str(dp['health_share'])}) + drain (configured wait) {fmt_ms(dp['drain_median_ms'])} ({pct_str(dp['drain_share'])})"
        f" + tool overhead {fmt_ms(dp['overhead_median_ms'])} ({pct_str(dp['overhead_share'])})",
        f"                    overhead includes: start {fmt_ms(dp['start_median_ms'])}, switch+verify"
        f" {fmt_ms(dp['switch_verify_median_ms'])}, router clean-up after the drain"
        f" {fmt_ms(dp['after_drain_cleanup_median_ms'])}, outside the tool's timings (process start,"
        f" connect, router check, convergence, final listing) {fmt_ms(dp['outside_timings_median_ms'])}",
        "  per run         : " + "; ".join(
            f"#{x['run']}: {x['switches']['failed']} failed/{x['switches']['requests']},"
            f" p99 {x['switches']['p99_ms']:.2f}/{x['steady']['p99_ms']:.2f} ms = {xr(x['p99_ratio'])},"
            f" rollback {fmt_ms(x['rollback']['cutover_median_ms'])}"
            for x in runs),
    ]


def human_open(o, g, runs):
    q = o["p99_ratio"]

    def row(label, part, extra=""):
        x = o[part]
        ratio_ = "" if part == "steady" else f" = {xr(q[part])} steady"
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(x["errors_all_runs"].items()))
        failed = f"{x['failed']:.0f} failed" + (f" ({kinds} in all runs)" if kinds else "")
        return (f"  {label:<16}: {x['requests']:.0f} requests, {failed};"
                f" p50 {fmt_ms(x['p50_ms'], 2)}, p99 {fmt_ms(x['p99_ms'], 2)}{ratio_},"
                f" p99.9 {fmt_ms(x['p999_ms'], 1)}, max {fmt_ms(x['max_ms'], 0)}{extra}")

    ops = ", ".join(f"{d['count_median']:.0f} {op}" for op, d in sorted(o["control_ops"].items()))
    src = ", ".join(f"{v} from {k}" for k, v in sorted(o["window_source"].items()))
    w = o["windows"]
    lines = [
        f"  [open loop, {o['rate']:g} req/s on {o['connections']} connections: latency from each request's"
        f" due time (coordinated omission corrected)]",
        row("steady state", "steady"),
        row("switch phase", "switches",
            f"  (goal <= {GOAL_P99_RATIO}x: {yn(g.get('open_switch_phase_p99_ratio_le_1_5'))})"),
        row("switch windows", "windows",
            f"  (goal <= {GOAL_P99_RATIO}x: {yn(g.get('open_switch_windows_p99_ratio_le_1_5'))})"),
        f"                    {w['windows']:.0f} windows per run, {w['seconds']:.1f} s in all, median"
        f" {fmt_ms(o['window_length_median_ms'])} each ({src}); window minus the tool's switch_ms:"
        f" median {fmt_ms(o['window_minus_switch_ms_median'])}",
        row("switch moments", "moments",
            f"  (each window and {MOMENT_AFTER_S * 1000:.0f} ms after it; goal <= {GOAL_P99_RATIO}x:"
            f" {yn(g.get('open_switch_moments_p99_ratio_le_1_5'))})"),
        row("rest of phase", "outside_windows", "  (switch phase outside the windows)"),
        row("control", "control", f"  (container churn, no router change: {ops} per run)"),
        row("control, windows", "control_windows", "  (control, at the windows' offsets)"),
        row("control, moments", "control_moments", "  (control, at the moments' offsets)"),
    ]
    if "quiet" in o:
        v = o["p99_vs_quiet"]
        qt, cm = o["quiet"], o["in_commands"]
        lines += [
            f"  quiet gaps      : {qt['requests']:.0f} requests, {qt['failed']:.0f} failed; p99 {fmt_ms(qt['p99_ms'], 2)}"
            f"  (second halves of the gaps between commands, the tool idle: a steady state interleaved with the switches)",
            f"  commands        : {cm['requests']:.0f} requests, {cm['failed']:.0f} failed; p99 {fmt_ms(cm['p99_ms'], 2)}"
            f" = {xr(v['in_commands'])} quiet  (goal <= {GOAL_P99_RATIO}x against the interleaved steady state);"
            f" windows {xr(v['windows'])} quiet, control {xr(v['control'])} quiet",
            "                    per run: " + "; ".join(
                f"#{r['run']}: commands {xr(x['p99_vs_quiet']['in_commands'])}, windows {xr(x['p99_vs_quiet']['windows'])},"
                f" control {xr(x['p99_vs_quiet']['control'])}" for r in runs for x in [r["open"]]),
        ]
    order = ("process", "prepare", "start", "health", "switch", "drain", "drain+stop", "stop-standby", "prune", "other")
    for kind in ("deploy", "rollback"):
        parts = [(n, o["by_tool_segment"].get(f"{kind}:{n}")) for n in order]
        parts = [f"{n} {x['p99_ms']:.0f}" for n, x in parts if x and x["p99_ms"] is not None]
        if parts:
            lines.append(f"  p99 by step, ms : {kind}: {', '.join(parts)}" if kind == "deploy"
                         else f"                    {kind}: {', '.join(parts)}")
    b = o["by_tool_segment"].get("between")
    if b and b["p99_ms"] is not None:
        lines.append(f"                    between commands: {b['p99_ms']:.0f}   (what the tool was doing when the"
                     " request was due, from its log lines; rough: few requests each)")
    if o["switches"]["unsent_at_stop"]:
        lines.append(f"  !! {o['switches']['unsent_at_stop']} request(s) due in the switch phase before the load was"
                     " stopped were never sent (a backlog on their connection, or the load's thread woke late)")
    rb = o["rollback"]
    lines += [
        f"  rollback (warm) : cutover median {fmt_ms(rb['cutover_median_ms'])}, max {fmt_ms(rb['cutover_max_ms'])}"
        f" (from the load's answers); command wall median {fmt_ms(rb['command_wall_median_ms'])}"
        f"{'' if rb['all_warm'] else '  [NOT all from warm standby]'}",
        "  per run (p99)   : " + "; ".join(
            f"#{r['run']}: steady {fmt_ms(x['steady']['p99_ms'], 2)}, switch {xr(x['p99_ratio']['switches'])},"
            f" windows {xr(x['p99_ratio']['windows'])}, moments {xr(x['p99_ratio']['moments'])},"
            f" control {xr(x['p99_ratio']['control'])}"
            for r in runs for x in [r["open"]]),
    ]
    return lines


def pct_str(x):
    return "n/a" if x is None else f"{x * 100:.0f}%"


# ---------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("probe")
    p.add_argument("--url", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--max-seconds", type=float, required=True)
    p.add_argument("--interval-ms", type=float, default=2.0)
    p.add_argument("--timeout", type=float, default=2.0)

    p = sub.add_parser("cycles")
    p.add_argument("--bin", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--v1", required=True)
    p.add_argument("--v2", required=True)
    p.add_argument("--cycles", type=int, required=True)
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--quiet-ms", type=int, default=0,
                   help="after each command, this long with the load running and the tool idle")
    p.add_argument("--out", required=True)

    for name in ("control-prepare", "control"):
        p = sub.add_parser(name)
        p.add_argument("--network", required=True)
        p.add_argument("--service", required=True)
        p.add_argument("--v1", required=True)
        p.add_argument("--v2", required=True)
        p.add_argument("--out", required=True)
        if name == "control":
            p.add_argument("--cycles", required=True, help="the switch phase's cycles.json to replay")
            p.add_argument("--state", required=True, help="the output of control-prepare")
            p.add_argument("--drain", required=True, help="the configured [deploy] drain, e.g. 1s")
            p.add_argument("--stop-timeout", type=int, default=2)
            p.add_argument("--keep", type=int, default=3, help="[deploy] keep_releases")
            p.add_argument("--max-seconds", type=float, required=True)

    p = sub.add_parser("phase")
    for k in ("kind", "out"):
        p.add_argument(f"--{k}", required=True)
    # The wrk phases (all or none).
    for k in ("steady-wrk", "steady-probe", "switch-wrk", "switch-probe", "cycles"):
        p.add_argument(f"--{k}")
    p.add_argument("--run", type=int, required=True)
    p.add_argument("--drain", required=True, help="the configured [deploy] drain, e.g. 1s")
    p.add_argument("--idle-cycles")
    p.add_argument("--idle-probe")
    p.add_argument("--load-before", default="")
    p.add_argument("--load-after", default="")
    # The open-loop phases (all or none).
    for k in ("open-steady", "open-switch", "open-control", "open-cycles", "open-control-ops"):
        p.add_argument(f"--{k}")
    p.add_argument("--rate", type=float)
    p.add_argument("--open-connections", type=int)
    p.add_argument("--open-load-before", default="")
    p.add_argument("--open-load-after", default="")

    p = sub.add_parser("summarize")
    p.add_argument("--machine", required=True)
    p.add_argument("--params", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--text-out")
    p.add_argument("phases", nargs="+")

    a = ap.parse_args()
    {"probe": cmd_probe, "cycles": cmd_cycles, "control-prepare": cmd_control_prepare, "control": cmd_control,
     "phase": cmd_phase, "summarize": cmd_summarize}[a.cmd](a)


if __name__ == "__main__":
    main()
