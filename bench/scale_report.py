"""The report of bench/scale.sh (standard library only).

    python3 scale_report.py RAW   -> markdown on stdout

RAW holds `ROW metric value` lines (ROW = BACKEND-SIZE, e.g. sqlite-1M; `report.py wrk` output
for the login_* / refresh_* metrics) and `meta key value` lines.
"""

import re
import statistics
import sys

TOLERANCE = 0.25     # p50/p99 at the big size within 25% of the small size
RSS_LIMIT_MB = 100   # server RSS at the big size, in MiB (VmRSS kB / 1024); the line also gives 10^6-byte MB


def load(path):
    d = {}
    for line in open(path):
        parts = line.rstrip("\n").split(" ", 2)
        if len(parts) == 3:
            d.setdefault(parts[0], {})[parts[1]] = parts[2]
    return d


def num(d, row, key):
    try:
        return float(d.get(row, {})[key])
    except (KeyError, ValueError):
        return None


def rounds(d, row, key):
    """Values of `rN_KEY` over the rounds N (in round order)."""
    out = []
    for k, v in sorted(d.get(row, {}).items()):
        m = re.fullmatch(r"r(\d+)_" + re.escape(key), k)
        if m:
            try:
                out.append((int(m.group(1)), float(v)))
            except ValueError:
                pass
    return [v for _, v in sorted(out)]


def med(d, row, key):
    v = rounds(d, row, key)
    return statistics.median(v) if v else None


def top(d, row, key):
    v = rounds(d, row, key)
    return max(v) if v else None


def f(v, fmt="{:.1f}"):
    return "–" if v is None else fmt.format(v)


def main():
    d = load(sys.argv[1])
    meta = d.get("meta", {})
    small, big = int(meta.get("small_n", "1000")), int(meta.get("big_n", "1000000"))

    def label(n):
        if n >= 1_000_000 and n % 1_000_000 == 0:
            return f"{n // 1_000_000}M"
        return f"{n // 1000}k" if n % 1000 == 0 else str(n)

    ls, lb = label(small), label(big)
    out = [f"## Scale check: {small:,} vs {big:,} accounts (and as many sessions)", ""]
    out.append(
        f"{meta.get('date', '?')}, {meta.get('nproc', '?')} cores ({meta.get('cpu', '?')}), "
        f"load average {meta.get('loadavg_start', '?')} at the start, {meta.get('loadavg_end', '?')} "
        f"at the end. Commit {meta.get('commit', '?')}; binary {meta.get('binary', '?')}. "
        f"PostgreSQL {meta.get('postgres', '?')}. Real Argon2id (19456 KiB, t=2, p=1). wrk -t2, "
        f"{meta.get('duration', '?')} s per run: logins of 64 seeded accounts over 16 connections, "
        "chained refreshes over 64 connections (bench/login.lua, bench/refresh.lua). Accounts, "
        "sessions and refresh-token rows were bulk-inserted (one real PHC hash shared by all "
        "accounts), not registered through the API. RSS = VmRSS after the runs (peak = VmHWM), "
        "in MiB (1 MiB = 1.048576 MB).")
    out.append("")
    nr = meta.get("rounds", "1")
    out.append(f"Medians over {nr} rounds per database (server restarted each round; sizes "
               "interleaved, order alternating); RSS columns are the largest over the rounds.")
    out.append("")
    out.append("| backend | accounts | seed s | DB MB | login p50 ms | login p99 ms | logins/s "
               "| refresh p50 ms | refresh p99 ms | refreshes/s | RSS idle MiB | RSS MiB | peak RSS MiB "
               "| errors | 1-min load per round |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    backends = []
    for row in d:
        if row == "meta":
            continue
        b = row.rsplit("-", 1)[0]
        if b not in backends:
            backends.append(b)
    for b in backends:
        for lab in (ls, lb):
            row = f"{b}-{lab}"
            if row not in d:
                continue
            errs = []
            for p in ("login", "refresh"):
                e = sum(rounds(d, row, f"{p}_errors"))
                if e:
                    st = " ".join(v for k, v in sorted(d[row].items()) if k.endswith(f"_{p}_statuses"))
                    errs.append(f"{p}: {e:.0f} ({st})")
            loads = [v.split()[0] for k, v in sorted(d[row].items()) if re.fullmatch(r"r\d+_loadavg", k)]
            out.append(
                f"| {b} | {int(num(d, row, 'n') or 0):,} | {f(num(d, row, 'seed_s'), '{:.0f}')} "
                f"| {f(num(d, row, 'db_mb'), '{:.0f}')} "
                f"| {f(med(d, row, 'login_p50_ms'), '{:.2f}')} | {f(med(d, row, 'login_p99_ms'), '{:.2f}')} "
                f"| {f(med(d, row, 'login_ok_rps'))} "
                f"| {f(med(d, row, 'refresh_p50_ms'), '{:.2f}')} | {f(med(d, row, 'refresh_p99_ms'), '{:.2f}')} "
                f"| {f(med(d, row, 'refresh_ok_rps'))} "
                f"| {f(mb(top(d, row, 'rss_idle_kib')))} | {f(mb(top(d, row, 'rss_kib')))} "
                f"| {f(mb(top(d, row, 'hwm_kib')))} | {'; '.join(errs) or '0'} "
                f"| {', '.join(loads) or '?'} |")
    out.append("")
    lines = []
    for b in backends:
        rs, rb = f"{b}-{ls}", f"{b}-{lb}"
        ratios, missing = [], []
        for m in ("login_p50_ms", "login_p99_ms", "refresh_p50_ms", "refresh_p99_ms"):
            a, c = med(d, rs, m), med(d, rb, m)
            if a is None or c is None or a <= 0:
                missing.append(m)
                continue
            ratios.append((m, c / a))
        if missing:
            lines.append(f"- FAIL {b}: latency at {lb} within 25% of {ls}: missing {', '.join(missing)}")
        else:
            ok = all(r <= 1 + TOLERANCE for _, r in ratios)
            detail = ", ".join(f"{m.replace('_ms', '')} {r:.2f}x" for m, r in ratios)
            lines.append(f"- {'PASS' if ok else 'FAIL'} {b}: login and refresh p50/p99 at {lb} within "
                         f"25% of {ls} (median {lb} / median {ls}: {detail})")
        rss = mb(top(d, rb, "rss_kib"))
        hwm = mb(top(d, rb, "hwm_kib"))
        if rss is None:
            lines.append(f"- FAIL {b}: RSS at {lb} under {RSS_LIMIT_MB} MiB: not measured")
        else:
            ok = rss < RSS_LIMIT_MB and (hwm is None or hwm < RSS_LIMIT_MB)
            dec = (hwm if hwm is not None else rss) * 1.048576
            lines.append(f"- {'PASS' if ok else 'FAIL'} {b}: RSS at {lb} under {RSS_LIMIT_MB} MiB "
                         f"({rss:.1f} MiB after the runs, peak {f(hwm)} MiB = {dec:.1f} MB; at {ls}: "
                         f"{f(mb(top(d, rs, 'rss_kib')))} MiB, peak {f(mb(top(d, rs, 'hwm_kib')))} MiB)")
    out += lines
    notes = [v for k, v in sorted(meta.items()) if k.startswith("note")]
    if notes:
        out += ["", "Notes:"] + [f"- {n}" for n in notes]
    print("\n".join(out))
    return 0


def mb(kib):
    return None if kib is None else kib / 1024


if __name__ == "__main__":
    sys.exit(main())
