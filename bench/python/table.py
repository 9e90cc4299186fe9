"""Turn the wrk outputs of one bench/python/run.sh run (DIR/TARGET.rN.txt) into a markdown
table: requests/s, p50 and p99 per target, one cell per round (round 1 / round 2 ...), and the
share of bare PyJWT HS256's requests/s.  Usage: table.py DIR"""

import re
import sys
from collections import defaultdict
from pathlib import Path

ORDER = ["hello", "pyjwt", "warden-claims", "warden-claims-nocache", "warden-account",
         "warden-account-live", "authx", "fastapi-jwt-auth", "fastsecure", "connectkit",
         "fastapi_auth2"]
LABEL = {
    "hello": "no auth (framework floor)",
    "pyjwt": "bare PyJWT HS256 + HTTPBearer",
    "warden-claims": "**warden_client `current_claims`** (EdDSA, offline)",
    "warden-claims-nocache": "warden_client `current_claims`, token cache off",
    "warden-account": "**warden_client `current_account`** (/auth/me, 5 s cache per token)",
    "warden-account-live": "warden_client `current_account`, no cache (/auth/me each time)",
}


def ms(v: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    if not m:
        return float("nan")
    n, u = float(m.group(1)), m.group(2)
    return {"us": n / 1000, "ms": n, "s": n * 1000, "m": n * 60000}[u]


def parse(text: str) -> tuple[float, float, float, int]:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errs = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return (float(rps.group(1)) if rps else float("nan"), ms(p50.group(1)) if p50 else float("nan"),
            ms(p99.group(1)) if p99 else float("nan"), errs)


def main() -> None:
    d = Path(sys.argv[1])
    runs: dict[str, dict[int, tuple[float, float, float, int]]] = defaultdict(dict)
    for f in d.glob("*.r*.txt"):
        target, rnd = f.name[:-4].rsplit(".r", 1)
        runs[target][int(rnd)] = parse(f.read_text())
    base = {r: v[0] for r, v in runs.get("pyjwt", {}).items()}
    print("| route protected by | req/s | % of bare PyJWT | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    for t in sorted(runs, key=lambda t: (ORDER.index(t) if t in ORDER else 99, t)):
        rounds = sorted(runs[t])
        cell = lambda i, fmt: " / ".join(fmt.format(runs[t][r][i]) for r in rounds)  # noqa: E731
        pct = " / ".join(f"{100 * runs[t][r][0] / base[r]:.0f}" if base.get(r) else "–"
                         for r in rounds)
        print(f"| {LABEL.get(t, t)} | {cell(0, '{:.0f}')} | {pct} | {cell(1, '{:.2f}')} | "
              f"{cell(2, '{:.2f}')} | {cell(3, '{}')} |")


if __name__ == "__main__":
    main()
