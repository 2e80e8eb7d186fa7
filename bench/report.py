#!/usr/bin/python3
"""Writes docs/benchmarks.md and its PNG plots from the JSON lines the benchmarks printed.

    bench/report.py RESULTS_DIR OUT_MD IMAGE_DIR

RESULTS_DIR holds what bench/run.sh collected: machine.json, supervisor_bench.json and
trace_emit.json (Google Benchmark's JSON), and tree_scale.jsonl, tracing.jsonl, escalation.jsonl,
probe.jsonl, peers.jsonl, daemon.jsonl, oci.jsonl (every line of a benchmark's output that is a JSON object; the schemas
are at the top of each benchmark's source). A part whose file is missing or empty is reported as
not run. Every figure is a median over repetitions with its spread [min-max].
"""
import json
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

PEER_ORDER = ["nodevisor", "floor", "s6", "runit", "daemontools", "supervisord", "systemd", "otp"]
PEERS = [p for p in PEER_ORDER if p not in ("nodevisor", "floor")]


def read_jsonl(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return rows


def read_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError:
            return None


def num(v, unit=""):
    if v is None:
        return "–"
    if abs(v) >= 100 or float(v).is_integer():
        s = f"{v:,.0f}".replace(",", " ")
    elif abs(v) >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.3g}"
    return f"{s} {unit}".strip()


def spread(values, unit="", scale=1.0):
    values = [v * scale for v in values if v is not None]
    if not values:
        return "–"
    med = statistics.median(values)
    if len(values) == 1:
        return num(med, unit)
    return f"{num(med, unit)} [{num(min(values))}–{num(max(values))}]"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}×"


class Report:
    def __init__(self, results, images, image_ref):
        self.results = results
        self.images = images
        self.image_ref = image_ref
        self.out = []

    def line(self, text=""):
        self.out.append(text)

    def table(self, header, rows):
        self.line("| " + " | ".join(header) + " |")
        self.line("|" + "---|" * len(header))
        for r in rows:
            self.line("| " + " | ".join(str(c) for c in r) + " |")
        self.line()

    def figure(self, fig, name, alt):
        path = os.path.join(self.images, name)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        self.line(f"![{alt}]({self.image_ref}/{name})")
        self.line()


# ---------------------------------------------------------------- machine and command


def machine_section(rep, machine):
    rep.line("# Benchmarks")
    rep.line()
    rep.line("Numbers are measured, never asserted by a test. This page is written by one command")
    rep.line("(it installs the peers, builds, runs every benchmark and draws the plots):")
    rep.line()
    rep.line("```sh")
    rep.line(machine.get("command", "bench/run.sh"))
    rep.line("```")
    rep.line()
    rep.line("## Machine and run")
    rep.line()
    rep.line(f"- {machine.get('cores', '?')} cores ({machine.get('cpu', '?')}), "
             f"{machine.get('memory', '?')} memory, kernel {machine.get('kernel', '?')}, "
             f"{machine.get('os', '?')}, {machine.get('compiler', '?')}, Release build.")
    rep.line(f"- Run on {machine.get('date', '?')}; the whole suite took "
             f"{machine.get('elapsed', '?')}. Load average at start {machine.get('load_start', '?')}, "
             f"at end {machine.get('load_end', '?')}.")
    rep.line("- Each figure is the median over repetitions with the spread [min–max]; treat "
             "differences within the spread as noise.")
    rep.line()


# ---------------------------------------------------------------- peers


def peer_values(rows, metric, impl, n, key="value"):
    return [r.get(key) for r in rows
            if r.get("metric") == metric and r.get("impl") == impl and r.get("n") == n
            and r.get("rep", 0) > 0]


def pooled_restarts(rows, impl, n):
    samples = []
    for r in rows:
        if r.get("metric") == "restart" and r.get("impl") == impl and r.get("n") == n:
            samples.extend(r.get("samples") or [])
    return sorted(samples)


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def heading(rep, title, results, source):
    """The section's heading; False, after a line saying so, when its benchmark did not run."""
    rep.line(title)
    rep.line()
    if not results:
        rep.line(f"Not run (no `{source}`).")
        rep.line()
        return False
    return True


def peers_section(rep, rows):
    if not heading(rep, "## Real processes: nodevisor against the peers and the floor (`bench/peers`)", rows, "peers.jsonl"):
        return
    impls = [i for i in PEER_ORDER if any(r.get("impl") == i for r in rows)]
    ns = sorted({r["n"] for r in rows if r.get("metric") == "start" and r.get("n")})
    big = max(ns) if ns else 1000
    small = min(ns) if ns else 100

    def med(metric, impl, n, key="value"):
        return median(peer_values(rows, metric, impl, n, key))

    # What each peer was measured as: a headline row per measurement.
    metrics = [
        ("cold start", "start", small, "ms", 1.10, "lower"),
        ("cold start", "start", big, "ms", 1.10, "lower"),
        ("restart after kill -9, median", "restart", big, "ms", 2.5, "lower"),
        ("stop all", "stop", big, "ms", 2.0, "lower"),
        ("supervisor PSS", "memory", big, "kB", None, "lower"),
    ]
    rep.line("### Headline")
    rep.line()
    rep.line("nodevisor / best peer and nodevisor / floor for each measurement (below 1 is "
             "better for nodevisor). Targets (issue 5): ahead of the best peer on start, restart "
             "and stop, within 1.1× (start), 2.5× (restart) and 2× (stop) of the floor, and under "
             "the best peer's memory.")
    rep.line()
    head_rows = []
    for label, metric, n, unit, floor_target, _ in metrics:
        if metric == "restart":
            get = lambda impl: percentile(pooled_restarts(rows, impl, n), 50)  # noqa: E731
        else:
            get = lambda impl: med(metric, impl, n)  # noqa: E731
        nv = get("nodevisor")
        peer_meds = {p: get(p) for p in PEERS if get(p) is not None}
        best = min(peer_meds, key=peer_meds.get) if peer_meds else None
        fl = get("floor") if metric != "memory" else None
        r_peer = ratio(nv, peer_meds.get(best)) if best else None
        r_floor = ratio(nv, fl)
        verdicts = []
        if r_peer is not None:
            verdicts.append("ahead of best peer" if r_peer < 1 else "behind best peer")
        if floor_target and r_floor is not None:
            verdicts.append(("within" if r_floor <= floor_target else "over")
                            + f" {floor_target}× of floor")
        head_rows.append([f"{label} ({n})", num(nv, unit),
                          f"{best} {num(peer_meds.get(best), unit)}" if best else "–",
                          fmt_ratio(r_peer), num(fl, unit), fmt_ratio(r_floor),
                          "; ".join(verdicts) or "–"])
    rep.table(["measurement", "nodevisor", "best peer", "nv / peer", "floor", "nv / floor",
               "verdict"], head_rows)

    rep.line("### Every implementation")
    rep.line()
    rep.line("Median [min–max] of the repetitions. Restart pools every kill of every repetition "
             "(median and p90). PSS sums every supervisor-side process.")
    rep.line()
    rows_out = []
    for impl in impls:
        pooled = pooled_restarts(rows, impl, big)
        missed = sum(r.get("missed", 0) or 0 for r in rows
                     if r.get("metric") == "restart" and r.get("impl") == impl)
        rows_out.append([
            impl,
            spread(peer_values(rows, "start", impl, small), "ms"),
            spread(peer_values(rows, "start", impl, big), "ms"),
            f"{num(percentile(pooled, 50), 'ms')} / {num(percentile(pooled, 90), 'ms')}"
            + (f" ({missed} missed)" if missed else ""),
            spread(peer_values(rows, "stop", impl, big), "ms"),
            spread(peer_values(rows, "memory", impl, big), "MiB", 1 / 1024),
        ])
    rep.table(["implementation", f"start {small}", f"start {big}",
               f"restart p50 / p90 ({big} running)", f"stop {big}", f"PSS with {big}"], rows_out)

    configs = [r for r in rows if r.get("metric") == "config"]
    if configs:
        rep.line("How each peer was configured:")
        rep.line()
        seen = set()
        for r in configs:
            k = (r.get("impl"), r.get("mode"))
            if k in seen:
                continue
            seen.add(k)
            rep.line(f"- **{r.get('impl')}** ({r.get('mode')}): {r.get('note')}")
        rep.line()
    errors = [r for r in rows if r.get("metric") == "error"]
    if errors:
        rep.line("What could not be measured:")
        rep.line()
        for r in errors:
            rep.line(f"- {r.get('impl')}: {r.get('what')}")
        rep.line()

    # Plots: cold start and stop bars, restart CDF.
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, metric, title in ((axes[0], "start", f"cold start of {big}"),
                              (axes[1], "stop", f"stop of {big}")):
        names, meds, lo, hi = [], [], [], []
        for impl in impls:
            v = [x for x in peer_values(rows, metric, impl, big) if x is not None]
            if not v:
                continue
            m = statistics.median(v)
            names.append(impl)
            meds.append(m)
            lo.append(m - min(v))
            hi.append(max(v) - m)
        colors = ["tab:blue" if n == "nodevisor" else "tab:gray" if n == "floor" else "tab:orange"
                  for n in names]
        ax.bar(names, meds, yerr=[lo, hi], color=colors, capsize=3)
        ax.set_title(title)
        ax.set_ylabel("ms (median, min–max)")
        ax.tick_params(axis="x", rotation=45)
    rep.figure(fig, "bench-peers-start-stop.png", "cold start and stop per implementation")

    fig, ax = plt.subplots(figsize=(7, 4))
    for impl in impls:
        s = pooled_restarts(rows, impl, big)
        if not s:
            continue
        ys = [(i + 1) / len(s) for i in range(len(s))]
        ax.step(s, ys, where="post", label=impl, linewidth=2 if impl == "nodevisor" else 1)
    ax.set_xscale("log")
    ax.set_xlabel("restart latency after kill -9, ms (log)")
    ax.set_ylabel("fraction of kills")
    ax.set_title(f"restart latency with {big} children running")
    ax.legend(fontsize=8)
    rep.figure(fig, "bench-peers-restart.png", "restart latency distribution per implementation")

    crash = [r for r in rows if r.get("metric") == "crash"]
    if crash:
        rep.line("### Crash loop: a child that exits 1 at once")
        rep.line()
        rep.line("Every implementation at its defaults, all at once, for the same window; the "
                 "starts it made and what it said at the end.")
        rep.line()
        crow = []
        for r in sorted(crash, key=lambda r: PEER_ORDER.index(r["impl"])
                        if r.get("impl") in PEER_ORDER else 99):
            gaps = r.get("gaps_ms") or []
            first_gaps = ", ".join(num(g) for g in gaps[:6]) + (" …" if len(gaps) > 6 else "")
            crow.append([r.get("impl"), num(r.get("value")), first_gaps or "–",
                         str(r.get("state", "")).replace("|", "/").replace("\n", " ")[:120]])
        rep.table(["implementation", f"starts in {crash[0].get('window_s', 30)} s",
                   "first gaps between starts (ms)", "state at the end"], crow)
        fig, ax = plt.subplots(figsize=(8, 4))
        for r in crash:
            starts = [s / 1000.0 for s in (r.get("starts_ms") or [])]
            if not starts:
                continue
            ax.step(starts, range(1, len(starts) + 1), where="post", label=r.get("impl"),
                    linewidth=2 if r.get("impl") == "nodevisor" else 1)
        ax.set_yscale("log")
        ax.set_xlabel("seconds after launch")
        ax.set_ylabel("starts so far (log)")
        ax.set_title("crash-loop restart schedule")
        ax.legend(fontsize=8)
        rep.figure(fig, "bench-peers-crashloop.png", "crash-loop restart schedules")


# ---------------------------------------------------------------- tree at scale


def scale_section(rep, rows):
    if not heading(rep, "## The tree at scale (`bench/tree_scale`, sim runtime)", rows, "tree_scale.jsonl"):
        return
    off = [r for r in rows if r.get("trace", "off") == "off"]
    ns = sorted({r["n"] for r in off if "n" in r})
    storms = sorted({r["storm_pct"] for r in off if "storm_pct" in r})

    def vals(metric, n, storm=None, kind=None):
        return [r["value"] for r in off
                if r.get("metric") == metric and r.get("n") == n
                and (storm is None or r.get("storm_pct") == storm)
                and (kind is None or r.get("kind") == kind)]

    per_service = next((r.get("per_service") for r in off if r.get("per_service")), "?")
    rep.line(f"The real actor tree on the simulated runtime, built from a generated spec as "
             f"`nodevisor run --runtime sim` builds it: services of {per_service} replicas, "
             f"each replica a container actor with a health-probe actor (a `command` check), and "
             f"every third service waiting on another (`depends`, condition healthy). RSS per "
             f"replica is the growth from the idle actor system to all healthy, divided by N.")
    rep.line()
    out = []
    for n in ns:
        out.append([f"{n:,}".replace(",", " "),
                    spread(vals("time_to_running", n), "s"),
                    spread(vals("time_to_healthy", n), "s"),
                    spread(vals("rss_per_replica", n), "KiB", 1 / 1024),
                    spread(vals("actors", n, kind="live")),
                    spread(vals("stop_time", n), "s")])
    rep.table(["replicas", "to all running", "to all healthy", "RSS per replica", "live actors",
               "stop all"], out)

    if storms:
        rep.line("Failure storms: P % of the replicas crash at once; restarts/s is the crashed "
                 "count over the time until the last of them runs again (supervision is set "
                 "never to escalate during a storm).")
        rep.line()
        out = []
        for n in ns:
            row = [f"{n:,}".replace(",", " ")]
            for p in storms:
                row.append(spread(vals("storm_restarts_per_s", n, p), "/s"))
            out.append(row)
        rep.table(["replicas"] + [f"{p} % storm" for p in storms], out)

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for metric, label in (("time_to_running", "all running"), ("time_to_healthy", "all healthy")):
        axes[0].plot(ns, [median(vals(metric, n)) for n in ns], marker="o", label=label)
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("replicas")
    axes[0].set_ylabel("seconds")
    axes[0].set_title("time to all running / healthy")
    axes[0].legend()
    axes[1].plot(ns, [(median(vals("rss_per_replica", n)) or 0) / 1024 for n in ns], marker="o")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("replicas")
    axes[1].set_ylabel("KiB per replica")
    axes[1].set_ylim(bottom=0)
    axes[1].set_title("RSS per replica (container + probe actor)")
    rep.figure(fig, "bench-scale.png", "time to running and RSS per replica against N")

    if storms:
        fig, ax = plt.subplots(figsize=(6, 3.8))
        for p in storms:
            ax.plot(ns, [median(vals("storm_restarts_per_s", n, p)) for n in ns], marker="o",
                    label=f"{p} % storm")
        ax.set_xscale("log")
        ax.set_xlabel("replicas")
        ax.set_ylabel("restarts per second")
        ax.set_title("restart throughput under failure storms")
        ax.legend()
        rep.figure(fig, "bench-storms.png", "restarts per second under failure storms")


def tracing_section(rep, rows, emit):
    if not heading(rep, "### Tracing overhead", rows, "tracing.jsonl"):
        return
    reps = len({r["rep"] for r in rows if "rep" in r})
    rep.line(f"The tree at scale with tracing off, on (`--trace`), and on with messages "
             f"(`--trace-messages`), run back to back in each of {reps} repetitions. Throughput "
             f"ratio = time with tracing off / time with it, in the same repetition (1.00 = no "
             f"cost), median [min–max] over the repetitions: pairing the runs of one repetition "
             f"keeps the machine's drift out of the ratio. Targets (issue 4): tracing costs "
             f"under 10 % of throughput (≥ 0.90×), with messages under 30 % (≥ 0.70×).")
    rep.line()

    def by_rep(metric, n, trace, storm=None):
        return {r["rep"]: r["value"] for r in rows
                if r.get("metric") == metric and r.get("n") == n
                and r.get("trace", "off") == trace
                and (storm is None or r.get("storm_pct") == storm)}

    def paired(metric, n, trace, storm=None):
        off, on = by_rep(metric, n, "off", storm), by_rep(metric, n, trace, storm)
        ratios = sorted(off[k] / on[k] for k in off if k in on and on[k] > 0)
        if not ratios:
            return "–"
        return f"{fmt_ratio(statistics.median(ratios))} [{ratios[0]:.2f}–{ratios[-1]:.2f}]"

    out = []
    for n in sorted({r["n"] for r in rows if "n" in r}):
        storms = sorted({r["storm_pct"] for r in rows if r.get("n") == n and "storm_pct" in r})
        phases = [("time_to_running", None, "start to running")]
        phases += [("storm_restart_time", s, f"{s} % storm restarted") for s in storms]
        for metric, storm, label in phases:
            off = median(list(by_rep(metric, n, "off", storm).values()))
            out.append([f"{n:,}".replace(",", " "), label, num(off, "s"),
                        paired(metric, n, "on", storm), paired(metric, n, "messages", storm)])
        mib = 1 / (1024 * 1024)
        size = {t: median(list(by_rep("trace_bytes", n, t).values())) for t in ("on", "messages")}
        dropped = {t: median(list(by_rep("trace_dropped", n, t).values()))
                   for t in ("on", "messages")}
        out.append([f"{n:,}".replace(",", " "), "trace file (events dropped)", "",
                    f"{num(size['on'] and size['on'] * mib, 'MiB')} ({num(dropped['on'])})",
                    f"{num(size['messages'] and size['messages'] * mib, 'MiB')} "
                    f"({num(dropped['messages'])})"])
    rep.table(["replicas", "phase", "time, tracing off", "throughput on/off",
               "throughput messages/off"], out)
    if emit:
        rep.line("What one event costs the emitting actor's thread (`bench/trace_emit`, CPU "
                 "time per event; with 2 threads both emit at once and share the seq counter):")
        rep.line()
        out = []
        for b in emit.get("benchmarks", []):
            if b.get("aggregate_name", "median") != "median":
                continue
            scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3}.get(b.get("time_unit", "ns"), 1.0)
            out.append([b.get("run_name", b.get("name")), num(b["cpu_time"] * scale, "µs")])
        rep.table(["benchmark", "CPU per event"], out)
    rep.line(TRACING_NOTES)
    rep.line()


# How the sink got to these numbers, for a reader who wants to make it cheaper still.
TRACING_NOTES = (
    "How the sink is built for this (trace/trace_sink.hpp): each emitting thread formats its "
    "event's JSON line itself, into a buffer it reuses, and queues it in a stripe of its own; "
    "the seq comes from one atomic counter taken inside the stripe's lock, and the writer "
    "thread (`nv.trace`) merges the stripes by seq and writes. Events are built in a "
    "per-thread scratch event, so emitting allocates nothing. What was measured and changed, "
    "in order: one lock and one queue shared by every emitter cost about 15 % of throughput on "
    "their own (0.79–0.86× before the stripes); formatting through a stack buffer, keys as "
    "compile-time literals and no escape scan for the sink's own words took a line from 0.20 "
    "to 0.08 µs; writing AgentError from its field table instead of through nlohmann took an "
    "event with an error from about 1.1 to 0.2 µs (a restart has two); message summaries and "
    "parent paths in reused buffers took a traced message from 0.33 to 0.16 µs. Tried and "
    "no help: a longer batch pause for the writer (10 ms), running the writer at SCHED_IDLE. "
    "What is left on this 2-core machine, from perf: about 4 % more CPU on the scheduler "
    "threads (the events themselves, and the seq counter's cache line moving between the two "
    "cores on every event) and the writer's 2 % on the same two cores.")


# ---------------------------------------------------------------- escalation, probes, micro


def escalation_section(rep, rows):
    if not heading(rep, "## Escalation latency (`bench/escalation_latency`)", rows, "escalation.jsonl"):
        return
    depths = sorted({r["depth"] for r in rows})
    samples = next((r.get("samples") for r in rows if r.get("samples")), "?")
    rep.line(f"A failure at a leaf under D nested supervisors, each with intensity 0, until the "
             f"top level (the deployment level) decides on the original error; {samples} samples "
             f"per depth and repetition, wall clock on the injecting thread to the decision.")
    rep.line()
    out = []
    for d in depths:
        def v(metric):
            return [r["value"] for r in rows if r.get("depth") == d and r.get("metric") == metric]
        wrong = sum(v("wrong_report"))
        out.append([d, spread(v("p50"), "µs"), spread(v("p99"), "µs"), spread(v("max"), "µs"),
                    "0" if not wrong else f"**{wrong:.0f}**"])
    rep.table(["depth", "p50", "p99", "max", "reports not the original error"], out)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for metric in ("p50", "p99"):
        ax.plot(depths, [median([r["value"] for r in rows if r.get("depth") == d
                                 and r.get("metric") == metric]) for d in depths],
                marker="o", label=metric)
    ax.set_xlabel("tree depth")
    ax.set_ylabel("µs")
    ax.set_xticks(depths)
    ax.set_ylim(bottom=0)
    ax.set_title("leaf failure → decision at the top")
    ax.legend()
    rep.figure(fig, "bench-escalation.png", "escalation latency by depth")


def probe_section(rep, rows):
    if not heading(rep, "## Probe throughput (`bench/probe_throughput`)", rows, "probe.jsonl"):
        return
    rep.line("tcp checks against listeners on 127.0.0.1: `runner` keeps C checks in flight on "
             "the check runner the probes share; `probe` runs C real probe actors checking "
             "back to back.")
    rep.line()
    keys = sorted({(r["mode"], r["concurrency"]) for r in rows},
                  key=lambda k: (k[0] != "runner", k[1]))
    out = []
    for mode, c in keys:
        def v(metric):
            return [r["value"] for r in rows if r.get("mode") == mode
                    and r.get("concurrency") == c and r.get("metric") == metric]
        out.append([mode, c, spread(v("checks_per_s"), "/s"),
                    spread(v("latency_p50"), "µs") if v("latency_p50") else "–",
                    spread(v("latency_p99"), "µs") if v("latency_p99") else "–"])
    rep.table(["mode", "concurrency", "checks per second", "latency p50", "latency p99"], out)


def daemon_section(rep, rows):
    if not heading(rep, "## The daemon through its API (`bench/daemon_bench`)", rows, "daemon.jsonl"):
        return
    n = next((r["n"] for r in rows), "?")

    def v(metric, impl="daemon", **kw):
        return [r["value"] for r in rows if r.get("metric") == metric and r.get("impl") == impl
                and all(r.get(k) == x for k, x in kw.items())]

    def paired(metric_a, impl_a, metric_b, impl_b, **kw):
        by_rep = {}
        for r in rows:
            if all(r.get(k) == x for k, x in kw.items()):
                if r.get("metric") == metric_a and r.get("impl") == impl_a:
                    by_rep.setdefault(r["rep"], {})["a"] = r["value"]
                if r.get("metric") == metric_b and r.get("impl") == impl_b:
                    by_rep.setdefault(r["rep"], {})["b"] = r["value"]
        return [ratio(x.get("a"), x.get("b")) for x in by_rep.values()]

    rep.line(f"Real processes (`/bin/sh -c 'exec sleep'`), the process runtime. `run` is "
             f"`nodevisor run SPEC` from exec; the daemon is already up and gets "
             f"`POST /api/v1/deployments`. Both clocks stop when the trace holds a `running` "
             f"state for all {n} replicas. Ratios are paired within a repetition.")
    rep.line()
    deploy_ratio = median(paired("deploy_time", "daemon", "deploy_time", "run"))
    pss_ratio = median(paired("pss", "daemon", "pss", "run"))
    rep.table(["measurement", "daemon", "`nodevisor run`", "daemon / run", "target"], [
        [f"deploy {n} replicas until all run", spread(v("deploy_time"), "s"),
         spread(v("deploy_time", "run"), "s"), fmt_ratio(deploy_ratio), "≤ 1.1×"],
        [f"PSS with {n} running (daemon: and one trace follower)", spread(v("pss"), "MiB"),
         spread(v("pss", "run"), "MiB"), fmt_ratio(pss_ratio), "reported"],
    ])
    storm_n = n // 10 if isinstance(n, int) else "?"
    rep.line(f"Latency of one request on a new connection, {n} replicas running; the storm is a "
             f"second deployment of {storm_n} replicas that exit 1 after 200 ms and are "
             f"restarted every time (backoff 10–100 ms). `ps` is the CLI command, exec included.")
    rep.line()
    rep.table(["request", "idle p50", "idle p99", "storm p50", "storm p99", "target"], [
        [f"`GET /api/v1/deployments/{{d}}`", spread(v("get_p50", phase="idle"), "ms"),
         spread(v("get_p99", phase="idle"), "ms"), spread(v("get_p50", phase="storm"), "ms"),
         spread(v("get_p99", phase="storm"), "ms"), "storm p99 < 20 ms"],
        ["`nodevisor ps D`", spread(v("ps_p50", phase="idle"), "ms"),
         spread(v("ps_p99", phase="idle"), "ms"), spread(v("ps_p50", phase="storm"), "ms"),
         spread(v("ps_p99", phase="storm"), "ms"), "storm p99 < 20 ms"],
    ])
    without = v("restarts_per_s", follower=0)
    with_f = v("restarts_per_s", follower=1)
    cost = ratio(median(with_f), median(without))
    rep.line("During the storm, windows without and with one client on "
             "`/api/v1/trace?follow=1` alternate; the tree's throughput is the restarts per "
             "second it completed (from `/metrics`).")
    rep.line()
    rep.table(["restarts/s without a follower", "with one", "with / without",
               "events/s the follower received", "target"], [
        [spread(without, "/s"), spread(with_f, "/s"), fmt_ratio(cost),
         spread(v("follower_events_per_s"), "/s"), "cost < 5 % (≥ 0.95×)"],
    ])


def keeper_section(rep, rows):
    """The keeper's part of daemon.jsonl: re-adoption after kill -9, its memory, a log flood."""
    rows = [r for r in rows if r.get("metric", "").startswith(("adopt_", "flood_"))
            or (r.get("metric") == "pss" and r.get("impl") == "keeper")]
    if not heading(rep, "## The keeper: a daemon killed, a log flood (`bench/daemon_bench`)", rows,
                   "daemon.jsonl"):
        return
    n = next((r["n"] for r in rows), "?")

    def v(metric, impl="daemon"):
        return [r["value"] for r in rows if r.get("metric") == metric and r.get("impl") == impl]

    rep.line(f"With {n} replicas running under the daemon, `kill -9` of the daemon, then a new "
             f"daemon from exec until the API shows all {n} running with the pids they had (the "
             f"keeper held them; nothing was started again). A daemon without a keeper would "
             f"instead deploy them anew: the deploy time above.")
    rep.line()
    rep.table(["measurement", "value", "target"], [
        ["new daemon ready (`/health/ready`)", spread(v("adopt_ready"), "s"), "reported"],
        [f"all {n} supervised again", spread(v("adopt_time"), "s"), "< 1 s"],
        ["of them with the same pid", spread(v("adopt_same_pids"), ""), f"{n}"],
        ["restarts the kill caused", spread(v("adopt_restarts"), ""), "0"],
        [f"keeper PSS with {n} running", spread(v("pss", "keeper"), "MiB"), "reported"],
    ])
    rate = spread(v("flood_rate", "writer"), "MB/s")
    rep.line(f"One replica writing 100 MB/s of 100-byte lines, paced every 10 ms ({rate} "
             f"achieved), for 20 s while the {n} run: the keeper reads its pipe and writes "
             f"the rotated log file; the daemon sees none of it. CPU is a percentage of one "
             f"core over the flood; RSS is the peak of samples every 250 ms.")
    rep.line()
    rep.table(["process", "CPU", "peak RSS"], [
        ["keeper", spread(v("flood_cpu", "keeper"), "%"), spread(v("flood_rss_max", "keeper"), "MiB")],
        ["daemon", spread(v("flood_cpu", "daemon"), "%"), spread(v("flood_rss_max", "daemon"), "MiB")],
    ])
    rep.line(f"`GET /api/v1/deployments/{{d}}` during the flood, p50: "
             f"{spread(v('flood_get_p50'), 'ms')}.")
    rep.line()


def oci_section(rep, rows):
    """bench/oci_bench: real runc containers against a plain runc script and podman."""
    if not heading(rep, "## Real containers: the oci runtime against runc alone and podman "
                   "(`bench/oci_bench`)", rows, "oci.jsonl"):
        return
    sizes = sorted({r["n"] for r in rows if r.get("metric") == "start"})

    def v(metric, impl, n=1):
        return [r["value"] for r in rows if r.get("metric") == metric and r.get("impl") == impl
                and r.get("n") == n]

    rep.line("The tests' image (a static busybox packed with umoci), served by docker-registry on "
             "loopback. Each container runs `sh -c` with a TERM trap, N at once. **start**: from "
             "the pulled image until `runc start` returned (the entrypoint has exec'd): nodevisor "
             "overlays the image unpacked once, the floor's script unpacks it for each container "
             "(`umoci unpack`), podman uses its own storage. **start_runc**: `runc create` and "
             "`runc start` on a bundle that is there (for nodevisor, what its keeper runs); the floor "
             "runs it on the plain roots it unpacked, and again on roots made as nodevisor makes "
             "them, an overlay on the image unpacked once, which is what runc itself costs more "
             "on (pivoting into an overlay), so the second ratio is the keeper's own share. "
             "**restart**: kill -9 of every container's process until each runs again (nodevisor: "
             "exit seen, remove, create, start; the floor: runc delete, unpack, create, start; "
             "podman: `podman start`). **stop**: SIGTERM until exited and deleted.")
    rep.line()
    header = ["measurement", "N", "nodevisor", "floor (runc script)", "podman",
              "nodevisor / floor", "nodevisor / podman", "target"]
    table = []
    # (row, nodevisor's metric, the floor's): start_runc once against the floor's plain roots,
    # once against roots made as nodevisor's are (an overlay on one unpack).
    measured = [("start", "start", "start"), ("start_runc", "start_runc", "start_runc"),
                ("start_runc, floor on overlay roots", "start_runc", "start_runc_overlay"),
                ("restart", "restart", "restart"), ("stop", "stop", "stop")]
    for label, metric, floor_metric in measured:
        for n in sizes:
            nv, fl, pm = v(metric, "nodevisor", n), v(floor_metric, "floor", n), v(metric, "podman", n)
            if label != metric:
                pm = []
            target = {"start": "≤ 1.2× the floor, ahead of podman",
                      "start_runc": "≤ 1.2× the floor"}.get(metric, "reported")
            table.append([label, n, spread(nv, "ms", 1000), spread(fl, "ms", 1000), spread(pm, "ms", 1000),
                          fmt_ratio(ratio(median(nv), median(fl))),
                          fmt_ratio(ratio(median(nv), median(pm))), target])
    rep.table(header, table)
    rep.line("Pulls of the test image (1.1 MB) from the local registry: cold into an empty store, "
             "then warm (`pull_policy: always` asks the registry for the manifest; "
             "`if_not_present` does not), and the one unpack per image version that containers "
             "share. Podman's pull extracts the layers into its storage as well.")
    rep.line()
    rep.table(["pull", "nodevisor", "podman"], [
        ["cold", spread(v("pull_cold", "nodevisor"), "ms", 1000), spread(v("pull_cold", "podman"), "ms", 1000)],
        ["warm, always", spread(v("pull_warm_always", "nodevisor"), "ms", 1000), "–"],
        ["warm, if_not_present", spread(v("pull_warm_present", "nodevisor"), "ms", 1000), "–"],
        ["unpack once per image", spread(v("unpack", "nodevisor"), "ms", 1000), "–"],
    ])
    errors = [r.get("text", "") for r in rows if r.get("metric") == "podman_error"]
    if errors:
        rep.line("Podman could not run here; it said: `" + errors[0].strip().replace("\n", " ") +
                 "`")
        rep.line()


def micro_section(rep, data):
    if not heading(rep, "## Supervisor decisions (`bench/supervisor_bench`, Google Benchmark)", data, "supervisor_bench.json"):
        return
    rep.line("Wall time from a child's failure being sent to the decision being visible to the "
             "benchmark thread (mostly that thread's wake-up), and the CPU time the actors spent.")
    rep.line()
    out = []
    for b in data.get("benchmarks", []):
        if b.get("aggregate_name") != "median":
            continue
        unit = b.get("time_unit", "ns")
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3}.get(unit, 1.0)
        out.append([b.get("run_name", b.get("name")), num(b["real_time"] * scale, "µs"),
                    num(b["cpu_time"] * scale, "µs")])
    rep.table(["benchmark", "wall, median", "CPU, median"], out)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    results, out_md, images = sys.argv[1:]
    os.makedirs(images, exist_ok=True)
    image_ref = os.path.relpath(images, os.path.dirname(os.path.abspath(out_md)))
    rep = Report(results, images, image_ref)
    machine = read_json(os.path.join(results, "machine.json")) or {}
    machine_section(rep, machine)
    peers_section(rep, read_jsonl(os.path.join(results, "peers.jsonl")))
    scale_section(rep, read_jsonl(os.path.join(results, "tree_scale.jsonl")))
    tracing_section(rep, read_jsonl(os.path.join(results, "tracing.jsonl")),
                    read_json(os.path.join(results, "trace_emit.json")))
    escalation_section(rep, read_jsonl(os.path.join(results, "escalation.jsonl")))
    probe_section(rep, read_jsonl(os.path.join(results, "probe.jsonl")))
    daemon_section(rep, read_jsonl(os.path.join(results, "daemon.jsonl")))
    keeper_section(rep, read_jsonl(os.path.join(results, "daemon.jsonl")))
    oci_section(rep, read_jsonl(os.path.join(results, "oci.jsonl")))
    micro_section(rep, read_json(os.path.join(results, "supervisor_bench.json")))
    with open(out_md, "w") as f:
        f.write("\n".join(rep.out).rstrip() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
