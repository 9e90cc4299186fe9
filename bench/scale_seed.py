"""Bulk seeding of a Warden SQLite database for bench/scale.sh (standard library only).

    python3 scale_seed.py DB_PATH TEMPLATE_LOGIN_KEY N PREFIX

DB_PATH must already hold Warden's schema and ONE template account (registered through the
API, so its password_hash is a real PHC string) with one session (from one login through the
API). Adds N accounts PREFIX0..PREFIX{N-1} that copy the template's columns (same password
hash, so every one of them logs in with the template's password), one session per account
copying the template session's columns, and one refresh_tokens row per session with a random
32-byte hash (no token hashes to it: the rows only make the tables big).

Ids are UUIDv7-like (48-bit milliseconds, then random bits), so they arrive in key order; the
login numbers are shuffled over the rows, so PREFIX0..PREFIX63 (the accounts the login run
uses) are spread over the table instead of sitting in its first pages. Writes in big
transactions with synchronous=OFF; the server must not be running. Prints
`seeded N accounts, N sessions, N refresh tokens in S s` on stderr.
"""

import hashlib
import os
import random
import sqlite3
import sys
import time

BATCH = 50_000


def uuid7ish(ms: int, rnd: random.Random) -> bytes:
    r = rnd.getrandbits(74)
    hi = (ms << 16) | (0x7 << 12) | (r >> 62)           # 48-bit ms, version 7, 12 random bits
    lo = (0b10 << 62) | (r & ((1 << 62) - 1))           # variant 10, 62 random bits
    return hi.to_bytes(8, "big") + lo.to_bytes(8, "big")


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    path, tmpl_key, n, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    t0 = time.monotonic()
    db = sqlite3.connect(path, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache for the seeding connection only
    db.execute("PRAGMA foreign_keys=OFF")    # every row references a row inserted just before it

    acc = db.execute("SELECT * FROM accounts WHERE login_key = ?", (tmpl_key,)).fetchone()
    if acc is None:
        raise SystemExit(f"scale_seed.py: no template account {tmpl_key!r}")
    ses = db.execute("SELECT * FROM sessions WHERE account_id = ? LIMIT 1", (acc["id"],)).fetchone()
    if ses is None:
        raise SystemExit("scale_seed.py: the template account has no session (log it in once)")
    acols = [k for k in acc.keys()]
    scols = [k for k in ses.keys()]

    rnd = random.Random(0x5CA1E)
    numbers = list(range(n))
    rnd.shuffle(numbers)
    base_ms = acc["created_at"] // 1_000_000 - n  # ids older than the template's, in order
    hashes = sorted(rnd.getrandbits(256).to_bytes(32, "big") for _ in range(n))

    aq = f"INSERT INTO accounts ({', '.join(acols)}) VALUES ({', '.join('?' * len(acols))})"
    sq = f"INSERT INTO sessions ({', '.join(scols)}) VALUES ({', '.join('?' * len(scols))})"
    rq = "INSERT INTO refresh_tokens (hash, session_id, used_at) VALUES (?, ?, NULL)"
    atmpl, stmpl = dict(acc), dict(ses)
    ai = {k: i for i, k in enumerate(acols)}
    si = {k: i for i, k in enumerate(scols)}
    arow0 = [atmpl[k] for k in acols]
    srow0 = [stmpl[k] for k in scols]
    # session ids must not collide with account ids' ordering assumptions: a separate stream
    srnd = random.Random(0x5E55)

    for start in range(0, n, BATCH):
        accounts, sessions, tokens = [], [], []
        for j in range(start, min(n, start + BATCH)):
            aid = uuid7ish(base_ms + j, rnd)
            sid = uuid7ish(base_ms + j, srnd)
            login = f"{prefix}{numbers[j]}"
            a = list(arow0)
            a[ai["id"]] = aid
            a[ai["login"]] = login
            a[ai["login_key"]] = login.lower()
            if "login_skeleton" in ai:  # unique: a placeholder, not the TR39 skeleton (the
                # bench registers no look-alike logins, and a non-NULL value keeps the start-up
                # from preparing a million rows)
                a[ai["login_skeleton"]] = hashlib.sha256(f"seed:{login}".encode()).hexdigest()
            if "email" in ai:
                a[ai["email"]] = None
            if "email_key" in ai:
                a[ai["email_key"]] = None
            accounts.append(a)
            s = list(srow0)
            s[si["id"]] = sid
            s[si["account_id"]] = aid
            sessions.append(s)
            tokens.append(sid)
        db.execute("BEGIN")
        db.executemany(aq, accounts)
        db.executemany(sq, sessions)
        db.executemany(rq, zip(hashes[start:start + len(tokens)], tokens))
        db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("accounts", "sessions", "refresh_tokens")]
    db.close()
    print(f"seeded {n} accounts, {n} sessions, {n} refresh tokens in {time.monotonic() - t0:.1f} s "
          f"(tables now: accounts={counts[0]} sessions={counts[1]} refresh_tokens={counts[2]}, "
          f"file {os.path.getsize(path) / 1e6:.0f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
