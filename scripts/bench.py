#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Results of `vhostctl bench --json`.

  bench.py check FILE...   each FILE is well-formed bench JSON with at least
                           one row, every row with nonzero ops and bytes
                           (the `make check` smoke; never a timing check)
  bench.py report DIR      DIR/raw/*.json (scripts/bench.sh) -> one table of
                           ours vs the reference with ratios, printed and
                           written to DIR/table.txt, DIR/results.json,
                           DIR/results.csv and DIR/bench.png
"""
import csv
import glob
import json
import os
import sys

# Our device and its reference, per kind.
PAIRS = {
    "net": ("vhost_net_lite", "vhost_net"),
    "vsock": ("vhost_vsock_lite", "vhost_vsock"),
    "blk": ("vhost_blk_lite", "qemu-storage-daemon"),
}
# The throughput compared, per kind: (JSON key, unit).
METRIC = {"net": ("mpps", "Mpps"), "vsock": ("gbps", "Gbit/s"),
          "blk": ("iops", "IOPS")}
KEYS = ("kind", "label", "case", "queues", "size", "ops", "bytes", "secs",
        "mpps", "gbps", "iops", "mbps", "p50_us", "p99_us")


def load(path):
    with open(path, encoding="utf-8") as f:
        rows = json.load(f)
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path}: not a non-empty JSON array")
    for r in rows:
        for k in KEYS:
            if k not in r:
                raise ValueError(f"{path}: row without '{k}': {r}")
    return rows


def check(paths):
    bad = 0
    for p in paths:
        try:
            rows = load(p)
        except (OSError, ValueError) as e:
            print(f"bench.py: {e}", file=sys.stderr)
            bad += 1
            continue
        for r in rows:
            if not r["ops"] > 0 or not r["bytes"] > 0:
                print(f"bench.py: {p}: {r['case']} q{r['queues']} moved nothing",
                      file=sys.stderr)
                bad += 1
        print(f"bench.py: {p}: {len(rows)} rows, "
              f"{sum(r['ops'] for r in rows)} ops")
    return 1 if bad else 0


def fmt(v, unit):
    if v is None:
        return "-"
    if unit in ("IOPS", "us") and v >= 100:
        return f"{v:.0f}"
    if unit == "us":
        return f"{v:.1f}"
    return f"{v:.4g}"


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def report(out):
    rows, broken = [], []
    for p in sorted(glob.glob(os.path.join(out, "raw", "*.json"))):
        try:
            rows.extend(load(p))
        except ValueError as e:
            print(f"bench.py: skipped {e}", file=sys.stderr)
            broken.append(os.path.basename(p))
    if not rows:
        print(f"bench.py: no results in {out}/raw", file=sys.stderr)
        return 1
    memcpy = next((r["gbps"] for r in rows if r["kind"] == "memcpy"), None)
    index = {(r["kind"], r["label"], r["case"], r["queues"]): r for r in rows}
    pairs = []
    for r in rows:
        kind = r["kind"]
        if kind not in PAIRS or r["label"] != PAIRS[kind][0]:
            continue
        ref = index.get((kind, PAIRS[kind][1], r["case"], r["queues"]))
        key, unit = METRIC[kind]
        scale = 1
        if r["case"] == "pingpong":
            key, unit, scale = "mpps", "kRT/s", 1000
        p = {
            "kind": kind, "case": r["case"], "queues": r["queues"],
            "unit": unit, "ours": r[key] * scale,
            "ref": ref[key] * scale if ref else None,
            "ours_gbps": r["gbps"], "ref_gbps": ref["gbps"] if ref else None,
            "ours_p50_us": r["p50_us"],
            "ref_p50_us": ref["p50_us"] if ref else None,
            "ours_p99_us": r["p99_us"],
            "ref_p99_us": ref["p99_us"] if ref else None,
        }
        p["ratio"] = ratio(p["ours"], p["ref"])
        p["p50_ratio"] = ratio(p["ours_p50_us"], p["ref_p50_us"])
        p["memcpy_frac"] = (ratio(r["gbps"], memcpy)
                            if r["size"] >= 65536 and kind != "blk" else None)
        pairs.append(p)

    kernel = ""
    kpath = os.path.join(out, "raw", "kernel.txt")
    if os.path.exists(kpath):
        with open(kpath, encoding="utf-8") as f:
            kernel = f.read().strip()
    aio = ""
    apath = os.path.join(out, "raw", "qsd-aio.txt")
    if os.path.exists(apath):
        with open(apath, encoding="utf-8") as f:
            aio = f", qemu-storage-daemon aio={f.read().strip()}"
    lines = [f"vhost-lite bench, test VM kernel {kernel or '?'} (TCG){aio}; "
             "ratio = ours / reference (throughput: higher is better; "
             "p50: lower is better)"]
    hdr = (f"{'kind':<6} {'case':<18} {'q':>2} {'unit':<7} {'ours':>10} "
           f"{'ref':>10} {'ratio':>6} {'p50 ours':>9} {'p50 ref':>9} "
           f"{'p50 r':>6} {'%memcpy':>7}")
    lines += [hdr, "-" * len(hdr)]
    for p in pairs:
        r = p["ratio"]
        pr = p["p50_ratio"]
        mf = p["memcpy_frac"]
        lines.append(
            f"{p['kind']:<6} {p['case']:<18} {p['queues']:>2} {p['unit']:<7} "
            f"{fmt(p['ours'], p['unit']):>10} {fmt(p['ref'], p['unit']):>10} "
            f"{(f'{r:.2f}x' if r is not None else '-'):>6} "
            f"{fmt(p['ours_p50_us'], 'us'):>9} {fmt(p['ref_p50_us'], 'us'):>9} "
            f"{(f'{pr:.2f}x' if pr is not None else '-'):>6} "
            f"{(f'{mf * 100:.0f}%' if mf is not None else ''):>7}")
    lines += workers_lines(rows)
    lines += busypoll_lines(rows)
    if memcpy is not None:
        lines.append(f"memcpy (single core): {memcpy:.2f} Gbit/s")
    for b in broken:
        lines.append(f"FAILED: {b} is not well-formed JSON")
    failed = os.path.join(out, "raw", "failed.txt")
    if os.path.exists(failed):
        with open(failed, encoding="utf-8") as f:
            for ln in f:
                lines.append(f"FAILED: {ln.strip()}")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(out, "table.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"kernel": kernel, "memcpy_gbps": memcpy, "rows": rows,
                   "pairs": pairs}, f, indent=1)
    with open(os.path.join(out, "results.csv"), "w", newline="",
              encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(KEYS)
        for r in rows:
            w.writerow([r[k] for k in KEYS])
    with open(os.path.join(out, "pairs.csv"), "w", newline="",
              encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(pairs[0]) if pairs else ["kind"])
        w.writeheader()
        w.writerows(pairs)
    plot(out, pairs)
    return 0


def workers_lines(rows):
    """Kind "workers" of bench.sh: 1 queue, 2 sharing a worker, 2 with own."""
    mq = {r["case"]: r for r in rows
          if r["kind"] == "blk" and r["label"].startswith("vhost_blk_lite-mq")}
    out = []
    for case in ("randread-4k-qd32", "randwrite-4k-qd32"):
        one, two = mq.get(case), mq.get(case + "-2q")
        own = mq.get(case + "-2q-workers")
        if not (one and two and own):
            continue
        if not out:
            out.append("vhost_blk_lite per-virtqueue workers (IOPS): 1 queue; "
                       "2 queues, one worker; 2 queues, a worker each")
        out.append(f"  {case:<18} {one['iops']:>9.0f} {two['iops']:>9.0f} "
                   f"({ratio(two['iops'], one['iops']) or 0:.2f}x) "
                   f"{own['iops']:>9.0f} "
                   f"({ratio(own['iops'], two['iops']) or 0:.2f}x of one worker)")
    return out


def busypoll_lines(rows):
    """Kind "busypoll" of bench.sh: 64-byte net without and with 50 us."""
    bp = {(r["label"], r["case"]): r for r in rows
          if r["kind"] == "net" and "-poll" in r["label"]}
    out = []
    for dev in ("vhost_net_lite", "vhost_net"):
        for case in ("tx-64", "rx-64"):
            off, on = bp.get((dev + "-poll0", case)), bp.get((dev + "-poll50", case))
            if not (off and on):
                continue
            if not out:
                out.append("busy polling, 64-byte frames, 1 queue pair: Mpps "
                           "and p50 us, busyloop 0 -> 50 us")
            out.append(f"  {dev:<15} {case:<6} {off['mpps']:.3f} -> "
                       f"{on['mpps']:.3f} Mpps "
                       f"({ratio(on['mpps'], off['mpps']) or 0:.2f}x), p50 "
                       f"{fmt(off['p50_us'], 'us')} -> {fmt(on['p50_us'], 'us')} us")
    return out


def plot(out, pairs):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench.py: no matplotlib (apt install python3-matplotlib): "
              "no bench.png", file=sys.stderr)
        return
    pairs = [p for p in pairs if p["ratio"] is not None]
    if not pairs:
        return
    names = [f"{p['kind']} {p['case']} q{p['queues']}" for p in pairs]
    colors = {"net": "tab:blue", "vsock": "tab:green", "blk": "tab:orange"}
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(pairs) + 1.5))
    ax.barh(names, [p["ratio"] for p in pairs],
            color=[colors.get(p["kind"], "gray") for p in pairs])
    ax.axvline(1.0, color="black", linewidth=1)
    ax.invert_yaxis()
    ax.set_xlabel("throughput ratio, vhost-lite / reference "
                  "(>1: vhost-lite faster)")
    ax.set_title("vhost-lite vs in-tree vhost (net, vsock) and "
                 "qemu-storage-daemon (blk)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "bench.png"), dpi=100)
    print(f"bench.py: wrote {os.path.join(out, 'bench.png')}")


def main(argv):
    if len(argv) >= 3 and argv[1] == "check":
        return check(argv[2:])
    if len(argv) == 3 and argv[1] == "report":
        return report(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
