"""Parsing and the report for bench/run.sh (standard library only).

    python3 report.py wrk ROW PREFIX < wrk-output     -> `ROW PREFIX_metric value` lines
    python3 report.py table RAW                       -> the markdown report on stdout

RAW holds `ROW metric value` lines: the peers' bench.sh output (first column rewritten to
the row name), the `report.py wrk` output for Warden, and `meta key value...` / `warden key
value` lines written by run.sh.
"""

import re
import sys


# ---------------------------------------------------------------- wrk output -> metric lines
def ms(v: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    n, u = float(m.group(1)), m.group(2)
    return {"us": n / 1000, "ms": n, "s": n * 1000, "m": n * 60000}[u]


def parse_wrk(row: str, prefix: str, text: str) -> list[str]:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errs = int(non2xx.group(1)) if non2xx else 0
    if sock:
        errs += sum(int(x) for x in sock.groups())
    out = {
        "rps": f"{float(rps.group(1)):.1f}" if rps else "NA",
        "p50_ms": f"{ms(p50.group(1)):.2f}" if p50 else "NA",
        "p99_ms": f"{ms(p99.group(1)):.2f}" if p99 else "NA",
        "requests": total.group(1) if total else "NA",
        "errors": str(errs),
    }
    sc = re.search(r"^status_counts (.*)$", text, re.M)  # from login.lua / refresh.lua
    if sc and sc.group(1).strip():
        out["statuses"] = sc.group(1).strip().replace(" ", ",")
    if total:  # successful responses per second: a broken refresh chain must not count
        secs = ms(total.group(2) + total.group(3)) / 1000
        out["ok_rps"] = f"{max(0, int(total.group(1)) - errs) / secs:.1f}" if secs > 0 else "NA"
    return [f"{row} {prefix}_{k} {v}" for k, v in out.items()]


# ---------------------------------------------------------------- report
def load(path: str) -> dict[str, dict[str, str]]:
    d: dict[str, dict[str, str]] = {}
    for line in open(path):
        parts = line.rstrip("\n").split(" ", 2)
        if len(parts) == 3:
            d.setdefault(parts[0], {})[parts[1]] = parts[2]
    return d


def num(d, row, key):
    try:
        return float(d[row][key])
    except (KeyError, ValueError):
        return None


def f(v, fmt="{:.1f}", none="–"):
    return none if v is None else fmt.format(v)


def verdict(ok):
    return "SKIP (no data)" if ok is None else ("PASS" if ok else "FAIL")


PEER_ROWS = ["better-auth-rs", "axum-login", "pyjwt-w2"]


def table(path: str) -> str:
    d = load(path)
    meta = d.get("meta", {})
    out = [
        "# Warden benchmark",
        "",
        f"- date: {meta.get('date', '?')}",
        f"- host: nproc={meta.get('nproc', '?')}, {meta.get('cpu', '?')}, load average at start "
        f"{meta.get('loadavg', '?')}",
        f"- commit: {meta.get('commit', '?')}; warden binary: {meta.get('binary', '?')}",
        f"- load: wrk {meta.get('wrk', '?')}, GET: -t2 -c{meta.get('conns', '64')} "
        f"-d{meta.get('duration', '10')}s; logins: -t2 -c{meta.get('login_conns', '16')}; "
        f"refresh: -t2 -c{meta.get('refresh_conns', '64')} chained tokens; all to 127.0.0.1",
        f"- Warden argon2id: {meta.get('argon2', '?')}; hash time source: {meta.get('hash_source', '?')}",
    ]
    try:
        load1, cores = float(meta.get("loadavg", "0").split()[0]), float(meta.get("nproc", "1"))
    except ValueError:
        load1, cores = 0.0, 1.0
    if load1 > 0.5 * cores:
        out.append(f"- **WARNING: the machine was busy at start (1-min load {load1:.2f} on {cores:.0f} cores); "
                   "expect noisy numbers, rerun when it is idle.**")
    out += [
        "",
        "| target | req/s | % of floor | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|",
    ]
    floor = num(d, "axum-floor", "me_rps")
    # The distinct-token run is compared with the floor under the same wrk script (older runs
    # without it: the plain floor).
    many_floor = num(d, "axum-floor", "me_many_rps") or floor
    labels = {"warden": "warden GET /auth/me", "axum-floor": "axum floor (no auth)"}
    for row in ["warden", "axum-floor"] + PEER_ROWS:
        rps = num(d, row, "me_rps")
        pct = rps / floor * 100 if rps is not None and floor else None
        err = d.get(row, {}).get("me_errors", "–")
        if row in d and "start_failed" in d[row]:
            err = "did not start"
        out.append(f"| {labels.get(row, row)} | {f(rps)} | {f(pct)} | {f(num(d, row, 'me_p50_ms'), '{:.2f}')} "
                   f"| {f(num(d, row, 'me_p99_ms'), '{:.2f}')} | {err} |")
        if row == "warden" and num(d, "warden", "me_key_rps") is not None:
            krps = num(d, "warden", "me_key_rps")
            kpct = krps / floor * 100 if floor else None
            out.append(f"| warden GET /auth/me with X-API-Key | {f(krps)} | {f(kpct)} | "
                       f"{f(num(d, 'warden', 'me_key_p50_ms'), '{:.2f}')} | {f(num(d, 'warden', 'me_key_p99_ms'), '{:.2f}')} "
                       f"| {d['warden'].get('me_key_errors', '–')} |")
        if row == "warden" and num(d, "warden", "me_many_rps") is not None:
            mrps = num(d, "warden", "me_many_rps")
            out.append(f"| warden GET /auth/me, {meta.get('pop_n', '?')} distinct tokens cycling | {f(mrps)} | "
                       f"{f(mrps / many_floor * 100 if many_floor else None)} ({f(mrps / floor * 100 if floor else None)}"
                       f" of the plain floor) | {f(num(d, 'warden', 'me_many_p50_ms'), '{:.2f}')} "
                       f"| {f(num(d, 'warden', 'me_many_p99_ms'), '{:.2f}')} | {d['warden'].get('me_many_errors', '–')} |")
        if row == "axum-floor" and num(d, "axum-floor", "me_many_rps") is not None:
            out.append(f"| axum floor, the same {meta.get('pop_n', '?')}-token script | {f(many_floor)} | "
                       f"{f(many_floor / floor * 100 if floor else None)} | "
                       f"{f(num(d, 'axum-floor', 'me_many_p50_ms'), '{:.2f}')} | "
                       f"{f(num(d, 'axum-floor', 'me_many_p99_ms'), '{:.2f}')} | "
                       f"{d['axum-floor'].get('me_many_errors', '–')} |")

    nproc = num(d, "meta", "nproc")
    hash_ms = num(d, "warden", "hash_ms")
    naive_bound = nproc * 1000 / hash_ms if nproc and hash_ms else None
    # The bound is what the hash pool does with one thread per core; cores ÷ the one-thread time
    # is printed beside it (an older run without the pool rate falls back to it).
    bound = num(d, "warden", "hash_pool_rps") or naive_bound
    logins = num(d, "warden", "login_ok_rps")
    login_pct = logins / bound * 100 if logins is not None and bound else None
    idle99, load99 = num(d, "warden", "me_p99_ms"), num(d, "warden", "me_load_p99_ms")
    x = load99 / idle99 if idle99 and load99 is not None else None
    mib = lambda k: (lambda v: None if v is None else v / 1024)(num(d, "warden", k))  # noqa: E731
    w = d.get("warden", {})
    st = lambda p: f" (statuses {w[p + '_statuses']})" if w.get(p + "_statuses") else ""  # noqa: E731
    out += [
        "",
        "| Warden | value | detail |",
        "|---|---|---|",
        f"| logins/s (16 conns) | {f(logins)} | {f(login_pct)} % of the Argon2id bound {f(bound)}/s "
        + (f"(the hash pool, {f(nproc, '{:.0f}')} threads at once; cores ÷ the one-thread time "
           f"{f(hash_ms, '{:.2f}')} ms would be {f(naive_bound)}/s)" if num(d, "warden", "hash_pool_rps")
           else f"(= {f(nproc, '{:.0f}')} cores ÷ {f(hash_ms, '{:.2f}')} ms)") + f"; p50 {w.get('login_p50_ms', '–')} ms, "
        f"p99 {w.get('login_p99_ms', '–')} ms, errors {w.get('login_errors', '–')}{st('login')} |",
        f"| sequential login, median of 20 | {f(num(d, 'warden', 'seq_login_ms'), '{:.2f}')} ms | one request at a time: "
        f"server-side hash + overhead; {f(nproc, '{:.0f}')} cores ÷ this = "
        f"{f(nproc * 1000 / num(d, 'warden', 'seq_login_ms') if nproc and num(d, 'warden', 'seq_login_ms') else None)}/s |",
        f"| 16 parallel logins to one account | {w.get('one_account_statuses', '–')} | HTTP statuses; the login runs above "
        f"cycle through {meta.get('login_users', '?')} accounts |",
        f"| refreshes/s (chained) | {f(num(d, 'warden', 'refresh_ok_rps'))} | p50 {w.get('refresh_p50_ms', '–')} ms, "
        f"p99 {w.get('refresh_p99_ms', '–')} ms, errors {w.get('refresh_errors', '–')}{st('refresh')} |",
        f"| /auth/me p99 idle → under login load | {f(idle99, '{:.2f}')} → {f(load99, '{:.2f}')} ms "
        f"(×{f(x, '{:.2f}')}) | under load: {w.get('me_load_rps', '–')} req/s, errors {w.get('me_load_errors', '–')}; "
        f"concurrent logins {w.get('login_load_ok_rps', '–')}/s{st('login_load')} |",
        "| peers' logins/s (bench.sh, 16 conns) | " + ", ".join(
            f"{r} {d.get(r, {}).get('login_rps', '–')}" for r in PEER_ROWS) + " | argon2id 19456/2/1 in all three |",
        f"| RSS idle after start | {f(mib('rss_idle_kib'))} MiB | main server, fresh DB; after all its load runs "
        f"{f(mib('rss_after_kib'))} MiB |",
        f"| RSS at {meta.get('pop_n', '?')} accounts + sessions | {f(mib('rss_10k_kib'))} MiB | separate start with cheap hash "
        f"params ({meta.get('pop_argon2', '?')}); same process idle {f(mib('rss_popidle_kib'))} MiB; "
        f"populated in {w.get('populate_seconds', '–')} s, errors {w.get('populate_errors', '–')} |",
    ]

    me = num(d, "warden", "me_rps")
    peers = [num(d, r, "me_rps") for r in PEER_ROWS]
    pyjwt = num(d, "pyjwt-w2", "me_rps")
    pct_floor = me / floor * 100 if me is not None and floor else None
    errs = [num(d, "warden", k) for k in ("me_errors", "login_errors", "refresh_errors", "me_load_errors")]
    key = num(d, "warden", "me_key_rps")
    many = num(d, "warden", "me_many_rps")
    ref, ref99 = num(d, "warden", "refresh_ok_rps"), num(d, "warden", "refresh_p99_ms")
    idle_mib, after_mib = mib("rss_idle_kib"), mib("rss_after_kib")
    checks = [
        (f"/me ≥ 80% of floor ({f(pct_floor)} %)", None if pct_floor is None else pct_floor >= 80),
        (f"/me with {meta.get('pop_n', '?')} distinct tokens ≥ 80% of the floor under the same script "
         f"({f(many / many_floor * 100 if many is not None and many_floor else None)} %)",
         None if many is None or not many_floor else many >= 0.8 * many_floor),
        ("/me > every peer (" + ", ".join(f"{r} {f(v)}" for r, v in zip(PEER_ROWS, peers)) + ")",
         None if me is None or None in peers else all(me > p for p in peers)),
        (f"/me ≥ 10× pyjwt-w2 (×{f(me / pyjwt if me is not None and pyjwt else None)})",
         None if me is None or not pyjwt else me >= 10 * pyjwt),
        (f"/me with an API key ≥ 90% of /me with a bearer JWT "
         f"({f(key / me * 100 if me and key is not None else None)} %)",
         None if not me or key is None else key >= 0.9 * me),
        (f"logins/s ≥ 92% of hash bound ({f(login_pct)} %)", None if login_pct is None else login_pct >= 92),
        (f"/me p99 under login load ≤ 1.5× idle p99 (×{f(x, '{:.2f}')})", None if x is None else x <= 1.5),
        (f"chained refreshes ≥ 4,800/s with p99 ≤ 25 ms ({f(ref)}/s, p99 {f(ref99, '{:.2f}')} ms)",
         None if ref is None or ref99 is None else ref >= 4800 and ref99 <= 25),
        (f"RSS ≤ 40 MiB idle and ≤ 80 MiB after the load ({f(idle_mib)} / {f(after_mib)} MiB)",
         None if idle_mib is None or after_mib is None else idle_mib <= 40 and after_mib <= 80),
        ("no errors in the Warden runs (" + "/".join(f(e, "{:.0f}") for e in errs) + ")",
         None if None in errs else sum(errs) == 0),
    ]
    out += ["", "Targets:", ""] + [f"- {verdict(ok)}: {label}" for label, ok in checks]
    notes = [v for k, v in sorted(meta.items()) if k.startswith("note")]
    if notes:
        out += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def main() -> int:
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "wrk":
        print("\n".join(parse_wrk(a[1], a[2], sys.stdin.read())))
        return 0
    if len(a) == 2 and a[0] == "table":
        sys.stdout.write(table(a[1]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
