"""WardenClient against the real server: every account, session, MFA, email, API-key and admin
route, and problem+json answers raised as WardenError."""

from __future__ import annotations

import asyncio
import re
import time
from email import message_from_bytes
from pathlib import Path

import pyotp
import pytest

from conftest import PASSWORD, WardenServer
from warden_client import (
    Account,
    AsyncWardenClient,
    MfaRequired,
    TokenPair,
    WardenClient,
    WardenError,
)


def _pair(answer: TokenPair | MfaRequired) -> TokenPair:
    assert isinstance(answer, TokenPair), answer
    return answer


def test_register_login_me(client: WardenClient, login_name: str) -> None:
    reg = client.register(login_name, PASSWORD, email=f"{login_name}@example.com",
                          properties={"name": "Ada"})
    assert reg.account.login == login_name
    assert reg.account.properties == {"name": "Ada"}
    assert reg.tokens is None
    pair = _pair(client.login(login_name, PASSWORD))
    assert pair.token_type == "Bearer" and pair.expires_in > 0 and pair.session_id
    me = client.me(pair.access_token)
    assert isinstance(me, Account)
    assert (me.id, me.login, me.email, me.kind) == (reg.account.id, login_name,
                                                    f"{login_name}@example.com", "person")


def test_refresh_rotates_and_reuse_revokes(client: WardenClient, user: tuple[str, TokenPair]) -> None:
    _, pair = user
    new = client.refresh(pair.refresh_token)
    assert new.refresh_token != pair.refresh_token
    assert new.session_id == pair.session_id
    with pytest.raises(WardenError) as e:
        client.refresh(pair.refresh_token)
    assert (e.value.status, e.value.code) == (401, "refresh_token_reused")
    with pytest.raises(WardenError) as e:
        client.me(new.access_token)
    assert e.value.code == "invalid_token"


def test_logout_and_sessions(client: WardenClient, user: tuple[str, TokenPair]) -> None:
    login, first = user
    second = _pair(client.login(login, PASSWORD, remember=True))
    listed = client.sessions(second.access_token)
    assert {s.id for s in listed} == {first.session_id, second.session_id}
    assert [s.long for s in listed if s.current] == [True]
    client.revoke_session(second.access_token, first.session_id)
    with pytest.raises(WardenError) as e:
        client.me(first.access_token)
    assert e.value.code == "invalid_token"
    with pytest.raises(WardenError) as e:
        client.revoke_session(second.access_token, first.session_id)
    assert e.value.status == 404
    client.logout(second.access_token)
    with pytest.raises(WardenError):
        client.me(second.access_token)
    third = _pair(client.login(login, PASSWORD))
    fourth = _pair(client.login(login, PASSWORD))
    client.logout_all(third.access_token)
    for p in (third, fourth):
        with pytest.raises(WardenError):
            client.me(p.access_token)


def test_fresh_password_and_login_change(client: WardenClient, user: tuple[str, TokenPair],
                                         login_name: str) -> None:
    _, pair = user
    refreshed = client.refresh(pair.refresh_token)
    with pytest.raises(WardenError) as e:
        client.change_password(refreshed.access_token, PASSWORD, "another long password")
    assert e.value.code == "fresh_token_required"
    fresh = client.fresh(refreshed.access_token, PASSWORD)
    client.change_password(fresh.access_token, PASSWORD, "another long password")
    _pair(client.login(login_name, "another long password"))
    renamed = client.change_login(fresh.access_token, login_name + "-x")
    assert renamed.login == login_name + "-x"


def test_totp_mfa_login(client: WardenClient, user: tuple[str, TokenPair]) -> None:
    login, pair = user
    setup = client.totp_setup(pair.access_token)
    assert setup.otpauth_uri.startswith("otpauth://totp/") and "<svg" in setup.qr_svg
    totp = pyotp.TOTP(setup.secret)
    codes = client.totp_confirm(pair.access_token, totp.now())
    assert len(codes) == 10
    assert client.me(pair.access_token).mfa_enabled

    step = client.login(login, PASSWORD)
    assert isinstance(step, MfaRequired) and "totp" in step.methods
    with pytest.raises(WardenError) as e:
        client.login_mfa(step.mfa_token, "000000" if totp.now() != "000000" else "111111")
    assert e.value.code == "invalid_mfa_code"
    # the code used for confirm may not come back in its window: take the next step's code
    code = totp.at(time.time() + 30)
    done = client.login_mfa(step.mfa_token, code)
    assert client.me(done.access_token).login == login

    again = client.login(login, PASSWORD)
    assert isinstance(again, MfaRequired)
    by_recovery = client.login_mfa(again.mfa_token, codes[0])
    client.totp_disable(by_recovery.access_token, PASSWORD)
    assert isinstance(client.login(login, PASSWORD), TokenPair)


def _mail_token(outbox: Path, to: str, kind: str) -> str:
    """The token of the newest mail to `to` whose link contains `kind`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            msg = message_from_bytes(path.read_bytes())
            if to not in str(msg.get("To", "")):
                continue
            parts = msg.walk() if msg.is_multipart() else [msg]
            for part in parts:
                if part.get_content_type() != "text/plain":
                    continue
                text = part.get_payload(decode=True).decode()  # type: ignore[union-attr]
                found = re.search(rf"{kind}\S*[?&]token=([A-Za-z0-9_\-]+)", text)
                if found:
                    return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no {kind} mail to {to} in {outbox}")


def test_email_verification_and_password_reset(client: WardenClient, warden: WardenServer,
                                               user: tuple[str, TokenPair]) -> None:
    login, pair = user
    email = f"{login}@example.com"
    status = client.email_status(pair.access_token)
    assert (status.email, status.verified) == (email, False)
    client.send_verification(pair.access_token)
    client.verify_email(_mail_token(warden.outbox, email, "verify"))
    assert client.email_status(pair.access_token).verified
    with pytest.raises(WardenError) as e:
        client.send_verification(pair.access_token)
    assert (e.value.status, e.value.code) == (400, "bad_request")

    client.forgot_password("nobody-" + email)  # 202 whether or not the address exists
    client.forgot_password(email)
    client.reset_password(_mail_token(warden.outbox, email, "reset"), "a brand new password")
    with pytest.raises(WardenError):
        client.me(pair.access_token)  # every session revoked
    _pair(client.login(login, "a brand new password"))
    with pytest.raises(WardenError) as e:
        client.verify_email("not-a-token")
    assert (e.value.status, e.value.code) == (400, "invalid_token")


def test_api_keys(client: WardenClient, user: tuple[str, TokenPair]) -> None:
    _, pair = user
    created = client.create_api_key(pair.access_token, "ci", expires_in_days=3)
    assert created.key is not None and created.key.startswith("wdn_")
    assert client.me(created.key).id == client.me(pair.access_token).id
    listed = client.list_api_keys(pair.access_token)
    assert [k.id for k in listed] == [created.id] and listed[0].key is None
    renewed = client.renew_api_key(pair.access_token, created.id, expires_in_days=10)
    assert renewed.expires_at != created.expires_at
    uses = client.api_key_usage(pair.access_token, created.id)
    assert uses and uses[0].path == "/auth/me"
    with pytest.raises(WardenError) as e:
        client.create_api_key(created.key, "from-a-key")  # keys cannot make keys
    assert e.value.status in (401, 403)
    client.revoke_api_key(pair.access_token, created.id)
    with pytest.raises(WardenError) as e:
        client.me(created.key)
    assert (e.value.status, e.value.code) == (401, "invalid_api_key")


def test_admin_routes(client: WardenClient, login_name: str) -> None:
    acc = client.admin_create_account(login_name, PASSWORD, scopes=["reports"],
                                      properties={"team": "a"})
    assert acc.scopes == ["reports"]
    assert client.admin_get_account(acc.id).login == login_name
    page = client.admin_list_accounts(q=login_name, limit=5)
    assert [a.id for a in page.items] == [acc.id]
    changed = client.admin_update_account(acc.id, scopes=["reports", "admin"])
    assert sorted(changed.scopes) == ["admin", "reports"]
    pair = _pair(client.login(login_name, PASSWORD))

    client.admin_block(acc.id, "testing")
    status = client.admin_block_status(acc.id)
    assert (status.blocked, status.reason) == (True, "testing")
    with pytest.raises(WardenError) as e:
        client.me(pair.access_token)
    assert e.value.status in (401, 403)
    with pytest.raises(WardenError) as e:
        client.login(login_name, PASSWORD)
    assert e.value.code == "account_blocked"
    client.admin_unblock(acc.id)

    # a token with scope admin works instead of the admin secret
    admin_pair = _pair(client.login(login_name, PASSWORD))
    with WardenClient(client.base_url) as no_secret:
        assert no_secret.admin_get_account(acc.id, token=admin_pair.access_token).id == acc.id
        with pytest.raises(WardenError) as e:
            no_secret.admin_get_account(acc.id)
        assert e.value.status == 401
    client.admin_revoke_sessions(acc.id)
    with pytest.raises(WardenError):
        client.me(admin_pair.access_token)
    client.admin_disable_mfa(acc.id)
    key = client.create_api_key(_pair(client.login(login_name, PASSWORD)).access_token, "k")
    assert [k.id for k in client.admin_list_api_keys(account_id=acc.id)] == [key.id]
    assert client.admin_api_key_usage(key.id) == []
    client.admin_revoke_api_key(key.id)
    events = client.admin_audit(account_id=acc.id, limit=50)
    assert {"account.blocked", "account.unblocked", "login.success"} <= {e.event for e in events}
    assert all(e.account_id == acc.id for e in events)
    client.admin_delete_account(acc.id)
    with pytest.raises(WardenError) as e:
        client.admin_get_account(acc.id)
    assert e.value.status == 404


def test_problem_json_becomes_warden_error(client: WardenClient, login_name: str) -> None:
    with pytest.raises(WardenError) as e:
        client.register("x", "short")
    err = e.value
    assert (err.status, err.code) == (422, "validation_failed")
    assert {f.field for f in err.errors} == {"login", "password"}
    client.register(login_name, PASSWORD)
    with pytest.raises(WardenError) as e:
        client.register(login_name, PASSWORD)
    assert (e.value.status, e.value.code) == (409, "login_taken")
    with pytest.raises(WardenError) as e:
        client.login(login_name, "wrong password!")
    assert (e.value.status, e.value.code, e.value.errors) == (401, "invalid_credentials", [])
    with pytest.raises(WardenError) as e:
        client.me("garbage")
    assert e.value.code == "invalid_token" and e.value.retry_after is None
    # the lockout: 429 with Retry-After
    for _ in range(10):
        try:
            client.login(login_name, "wrong password!")
        except WardenError as locked:
            if locked.status == 429:
                assert locked.code == "too_many_attempts"
                assert locked.retry_after is not None and locked.retry_after > 0
                break
    else:
        pytest.fail("no 429 after 10 wrong passwords")


def test_unreachable_server_is_503() -> None:
    with WardenClient("http://127.0.0.1:9", timeout=1) as c:
        with pytest.raises(WardenError) as e:
            c.me("x")
    assert (e.value.status, e.value.code) == (503, "service_unavailable")


def test_service_routes(client: WardenClient) -> None:
    assert client.healthz() and client.readyz()
    keys = client.jwks()["keys"]
    assert keys and all("kid" in k for k in keys)
    assert client.oauth_providers() == []


def test_async_client(warden: WardenServer, login_name: str) -> None:
    async def flow() -> None:
        async with AsyncWardenClient(warden.url, admin_secret=warden.admin_secret) as c:
            await c.register(login_name, PASSWORD)
            pair = _pair(await c.login(login_name, PASSWORD))
            me, sessions = await asyncio.gather(c.me(pair.access_token),
                                                c.sessions(pair.access_token))
            assert me.login == login_name and len(sessions) == 1
            assert (await c.admin_get_account(me.id)).id == me.id
            await c.logout(pair.access_token)
            with pytest.raises(WardenError) as e:
                await c.me(pair.access_token)
            assert e.value.code == "invalid_token"

    asyncio.run(flow())
