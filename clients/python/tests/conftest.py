"""The real Warden server for the tests: `WARDEN_BIN` (default `<repo>/target/debug/warden`)
started on a free port with a fresh SQLite file, waited for on /healthz, and stopped at the end.
Nothing of Warden is mocked."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from warden_client import TokenPair, WardenClient

REPO = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WardenServer:
    """One `warden serve` process and the environment it (and `warden` CLI calls) run with."""

    def __init__(self, binary: Path, workdir: Path, extra_env: dict[str, str]) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_secret = "test-admin-" + secrets.token_urlsafe(16)
        self.outbox = workdir / "outbox"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")}
        self.env.update({
            "WARDEN_BIND": f"127.0.0.1:{self.port}",
            "WARDEN_DATABASE_URL": f"sqlite://{workdir / 'warden.db'}?mode=rwc",
            "WARDEN_ADMIN_SECRET": self.admin_secret,
            "WARDEN_ARGON2_MEMORY_KIB": "64",
            "WARDEN_ARGON2_ITERATIONS": "1",
            "WARDEN_RATE_LIMIT_PER_MINUTE": "0",
            "WARDEN_COOKIE_SECURE": "false",
            "WARDEN_LOG_LEVEL": "warn",
            "WARDEN_OUTBOX_DIR": str(self.outbox),
            "WARDEN_PUBLIC_URL": self.url,
            "WARDEN_EMAIL_COOLDOWN": "0s",
            **extra_env,
        })
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "server.log"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(self.binary), "serve"], env=self.env,
                                         cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"warden exited ({self.proc.returncode}):\n"
                                   + self.log.read_text()[-2000:])
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("warden did not answer /healthz within 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same port and database (the server reads keys at start)."""
        self.stop()
        self.start()

    def cli(self, *args: str) -> str:
        """Run `warden ARGS...` against the same database; returns its stdout."""
        done = subprocess.run([str(self.binary), *args], env=self.env, cwd=self.workdir,
                              capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"warden {' '.join(args)} failed: {done.stderr}")
        return done.stdout


def _binary() -> Path:
    binary = Path(os.environ.get("WARDEN_BIN", REPO / "target" / "debug" / "warden"))
    if not binary.is_file():
        pytest.exit(f"no Warden binary at {binary}: build it (cargo build -p warden-server) "
                    "or set WARDEN_BIN", returncode=2)
    return binary


@pytest.fixture(scope="session")
def start_warden(tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Callable[..., WardenServer]]:
    """Factory: start one more Warden with extra `WARDEN_*` settings (stopped at the end)."""
    binary = _binary()
    started: list[WardenServer] = []

    def start(**extra_env: str) -> WardenServer:
        server = WardenServer(binary, tmp_path_factory.mktemp("warden"), extra_env)
        server.start()
        started.append(server)
        return server

    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="session")
def warden(start_warden: Callable[..., WardenServer]) -> WardenServer:
    """The session's Warden server."""
    return start_warden()


@pytest.fixture()
def client(warden: WardenServer) -> Iterator[WardenClient]:
    with WardenClient(warden.url, admin_secret=warden.admin_secret) as c:
        yield c


@pytest.fixture()
def login_name() -> str:
    """A login no other test uses."""
    return "u" + secrets.token_hex(6)


@pytest.fixture()
def user(client: WardenClient, login_name: str) -> tuple[str, TokenPair]:
    """A registered, signed-in account: (login, tokens)."""
    client.register(login_name, PASSWORD, email=f"{login_name}@example.com")
    pair = client.login(login_name, PASSWORD)
    assert isinstance(pair, TokenPair)
    return login_name, pair
