"""Tiny dependency-free HTTP/1.1 client for the Warden benchmark (asyncio, keep-alive).

    python3 client.py users URL PREFIX N CONC PASSWORD [OUT]

Registers N accounts PREFIX0..PREFIX{N-1} (POST /auth/register -> 201) and logs each one in
once (POST /auth/login -> 200), CONC at a time, each worker on its own keep-alive connection.
With OUT, writes one `access_token refresh_token` line per session to it (for refresh.lua and
for the /auth/me bearer). Prints `ok=<sessions> errors=<n> seconds=<t>` on stderr; exits 1 if
any request failed. Only 127.0.0.1 targets are accepted.
"""

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


class Conn:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        data = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        self.writer.write(head.encode() + data)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed by server")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            k, v = k.strip().lower(), v.strip().lower()
            if k == "content-length":
                length = int(v)
            elif k == "transfer-encoding" and "chunked" in v:
                chunked = True
            elif k == "connection" and v == "close":
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            payload = b"".join(parts)
        else:
            payload = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, payload

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def users(url: str, prefix: str, n: int, conc: int, password: str, out: str | None) -> int:
    u = urlsplit(url)
    if u.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit("client.py only targets 127.0.0.1")
    next_i = iter(range(n))
    tokens: list[tuple[str, str]] = []
    errors: list[str] = []

    async def worker():
        conn = Conn(u.hostname, u.port or 80)
        for i in next_i:
            login = f"{prefix}{i}"
            try:
                st, b = await conn.request("POST", "/auth/register", {"login": login, "password": password})
                if st != 201:
                    errors.append(f"register {login}: {st} {b[:200]!r}")
                    continue
                st, b = await conn.request("POST", "/auth/login", {"login": login, "password": password})
                if st != 200:
                    errors.append(f"login {login}: {st} {b[:200]!r}")
                    continue
                j = json.loads(b)
                tokens.append((j["access_token"], j["refresh_token"]))
            except (OSError, ValueError, KeyError, asyncio.IncompleteReadError) as e:
                errors.append(f"{login}: {e!r}")
                conn.close()
        conn.close()

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(max(1, min(conc, n)))))
    dt = time.monotonic() - t0
    if out:
        with open(out, "w") as f:
            f.writelines(f"{a} {r}\n" for a, r in tokens)
    for e in errors[:5]:
        print("client.py:", e, file=sys.stderr)
    print(f"ok={len(tokens)} errors={len(errors)} seconds={dt:.1f}", file=sys.stderr)
    return 1 if errors else 0


def main() -> int:
    a = sys.argv[1:]
    if len(a) in (6, 7) and a[0] == "users":
        return asyncio.run(users(a[1], a[2], int(a[3]), int(a[4]), a[5], a[6] if len(a) == 7 else None))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
