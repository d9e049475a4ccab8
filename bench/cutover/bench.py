#!/usr/bin/env python3
"""Helpers of bench/cutover/run.sh (standard library only). Not meant to be run alone.

  probe      GET the router URL from loopback in a loop (keep-alive, bounded in time),
             recording for every request when it was sent and answered, and by which
             version (`hello from <version>`) or with which error.
  cycles     Run N cycles of `deploy v2`, `deploy v1`, `rollback`, recording each command's
             start and end on the same clock as the probe, and its --json output.
  phase      Reduce one (run, router kind): wrk's counters, the probe's records and the
             cycles into the figures the benchmark reports.
  summarize  Median of runs per router kind, goals, the machine; writes the JSON results
             and prints the human summary.

Every timestamp is CLOCK_MONOTONIC (time.monotonic()), which is one clock for every
process on the machine, so the probe and the cycle driver can be compared directly.
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
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


def run_tool(a, args):
    env = dict(os.environ)
    for k in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        env.pop(k, None)
    argv = [a.bin, "--json", "--config", a.config, *args]
    start = time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=a.timeout, env=env)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = "timeout", (e.stdout or b""), (e.stderr or b"")
        out = out.decode() if isinstance(out, bytes) else out
        err = err.decode() if isinstance(err, bytes) else err
    end = time.monotonic()
    rec = {"argv": args, "start": round(start, 6), "end": round(end, 6),
           "wall_ms": round((end - start) * 1000, 1), "rc": rc}
    try:
        doc = json.loads(out)
        body = doc.get("deployed") or doc.get("rolled_back") or {}
        rec.update({k: body.get(k) for k in ("release", "version", "warm", "timings")})
    except (ValueError, AttributeError):
        pass
    if rc != 0:
        rec["stderr_tail"] = err.strip().splitlines()[-15:]
    return rec


def cmd_cycles(a):
    steps = [("deploy-v2", ["deploy", "--image", a.v2]),
             ("deploy-v1", ["deploy", "--image", a.v1]),
             ("rollback", ["rollback"])]
    records, failures_in_a_row = [], 0
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
            if failures_in_a_row >= 3:
                print("    three failures in a row: stopping the cycles", file=sys.stderr)
                break
        else:
            continue
        break
    with open(a.out, "w") as f:
        json.dump({"clock": "monotonic", "commands": records}, f, indent=1)


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
        if c["rc"] != 0 or not c.get("version"):
            base["failed_command"] = True
            (rollbacks if c["step"] == "rollback" else deploys).append(base)
            continue
        co = cutover(probe, c["start"], nxt, c["version"])
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


def cmd_phase(a):
    steady_wrk, switch_wrk = read_wrk(a.steady_wrk), read_wrk(a.switch_wrk)
    steady_probe, switch_probe = read_json(a.steady_probe), read_json(a.switch_probe)
    commands = read_json(a.cycles)["commands"]
    drain_ms = parse_duration_ms(a.drain)
    rollbacks, deploys, serving = split_commands(commands, switch_probe, "v1", drain_ms)  # warm-up: v1
    result = {
        "run": a.run,
        "kind": a.kind,
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
    }
    if a.idle_cycles:
        # Diagnostic: the same cycles with the probe alone (no wrk), to separate what the
        # load costs from what the tool costs.
        idle_probe = read_json(a.idle_probe)
        idle_cmds = read_json(a.idle_cycles)["commands"]
        rb, dp, _ = split_commands(idle_cmds, idle_probe, serving, drain_ms)
        result["idle"] = {"rollback": rollback_summary(rb), "deploy": deploy_summary(dp),
                          "probe": probe_stats(idle_probe), "per_command": rb + dp}
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    s, w = result["steady"], result["switches"]
    print(f"  {a.kind} run {a.run}: switches {w['requests']} req, {w['failed']} failed, p99 {w['p99_ms']:.2f} ms"
          f" | steady {s['requests']} req, {s['failed']} failed, p99 {s['p99_ms']:.2f} ms"
          f" | ratio {result['p99_ratio']} | rollback median {fmt_ms(result['rollback']['cutover_median_ms'])}",
          file=sys.stderr)


# ------------------------------------------------------------------------- summarize


def fmt_ms(x, digits=0):
    return "n/a" if x is None else f"{x:.{digits}f} ms"


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
        all_cut = [c for r in runs for c in r["rollback"]["cutover_ms"]]

        def m(f):
            return median([f(r) for r in runs])

        summary = {
            "runs": len(runs),
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
            "deploy": {k: m(lambda r, k=k: r["deploy"][k]) for k in
                       ("wall_median_ms", "health_wait_median_ms", "drain_median_ms",
                        "overhead_median_ms", "start_median_ms", "switch_verify_median_ms",
                        "after_drain_cleanup_median_ms", "outside_timings_median_ms",
                        "health_share", "drain_share",
                        "overhead_share", "cutover_median_ms")},
            "probe": {
                "switches_failed": m(lambda r: r["probe"]["switches"]["failed"]),
                "steady_failed": m(lambda r: r["probe"]["steady"]["failed"]),
            },
            "commands_failed": sum(r["commands"]["failed"] for r in runs),
        }
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
        ratio, rb = summary["p99_ratio"], summary["rollback"]["cutover_median_ms"]
        summary["goals"] = {
            "p99_ratio_le_1_5": None if ratio is None else ratio <= GOAL_P99_RATIO,
            "rollback_median_lt_1s": None if rb is None else rb < GOAL_ROLLBACK_MS,
            "zero_failed_requests": all(r["switches"]["failed"] == 0 for r in runs),
        }
        per_kind[kind] = {"median_of_runs": summary, "runs": runs}

    doc = {"benchmark": "cutover", "version": 1, "params": params, "machine": machine,
           "results": per_kind}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
    text = human(doc)
    if a.text_out:
        with open(a.text_out, "w") as f:
            f.write(text)
    print(text)


def human(doc):
    p, mach = doc["params"], doc["machine"]
    lines = [
        "",
        "== deploy-action cutover benchmark ==",
        f"{p['runs']} run(s) x {p['cycles']} cycle(s) (deploy v2, deploy v1, rollback) per router;"
        f" wrk -t{p['threads']} -c{p['connections']} keep-alive; steady {p['steady']};"
        f" drain {p['drain']}, health interval {p['interval']} ({p['health']}), standby {p['standby']}",
        f"machine: {mach.get('nproc')} CPU ({mach.get('cpu')}), {mach.get('mem_total')}, kernel {mach.get('kernel')},"
        f" docker {mach.get('docker')}, {mach.get('haproxy')}, {mach.get('nginx')}, {mach.get('wrk')}",
        f"tool: {mach.get('git_commit')}{' (+ uncommitted changes)' if mach.get('git_dirty') else ''}",
        "",
    ]
    for kind, r in doc["results"].items():
        s = r["median_of_runs"]
        sw, st, rb, dp = s["switches"], s["steady"], s["rollback"], s["deploy"]
        g = s["goals"]

        def yn(x):
            return "n/a" if x is None else ("met" if x else "MISSED")

        lines += [
            f"-- {kind} (median of {s['runs']} runs) --",
            f"  during switches : {sw['requests']:.0f} requests, {sw['failed']:.0f} failed"
            f" ({sw['socket_errors']:.0f} socket errors, {sw['non_2xx_3xx']:.0f} non-2xx/3xx)"
            f" over {sw['router_switches']:.0f} switches in {sw['duration_s']:.0f} s;"
            f" p50 {sw['p50_ms']:.2f} ms, p99 {sw['p99_ms']:.2f} ms",
            f"  steady state    : {st['requests']:.0f} requests, {st['failed']:.0f} failed in {st['duration_s']:.0f} s;"
            f" p50 {st['p50_ms']:.2f} ms, p99 {st['p99_ms']:.2f} ms",
            f"  p99 ratio       : {s['p99_ratio']:.2f}x   (goal <= {GOAL_P99_RATIO}x: {yn(g['p99_ratio_le_1_5'])})",
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
            f"  per run         : " + "; ".join(
                f"#{x['run']}: {x['switches']['failed']} failed/{x['switches']['requests']},"
                f" p99 {x['switches']['p99_ms']:.2f}/{x['steady']['p99_ms']:.2f} ms = {x['p99_ratio']:.2f}x,"
                f" rollback {fmt_ms(x['rollback']['cutover_median_ms'])}"
                for x in r["runs"]),
        ]
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
    p.add_argument("--out", required=True)

    p = sub.add_parser("phase")
    for k in ("kind", "steady-wrk", "steady-probe", "switch-wrk", "switch-probe", "cycles", "out"):
        p.add_argument(f"--{k}", required=True)
    p.add_argument("--run", type=int, required=True)
    p.add_argument("--drain", required=True, help="the configured [deploy] drain, e.g. 1s")
    p.add_argument("--idle-cycles")
    p.add_argument("--idle-probe")
    p.add_argument("--load-before", default="")
    p.add_argument("--load-after", default="")

    p = sub.add_parser("summarize")
    p.add_argument("--machine", required=True)
    p.add_argument("--params", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--text-out")
    p.add_argument("phases", nargs="+")

    a = ap.parse_args()
    {"probe": cmd_probe, "cycles": cmd_cycles, "phase": cmd_phase, "summarize": cmd_summarize}[a.cmd](a)


if __name__ == "__main__":
    main()
