"""The dashboard's session secret and cookie flags, without a server: where the secret comes from, that
it is kept private and shared by the processes of one machine, and that the cookie is Secure over HTTPS."""

from __future__ import annotations

import re
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from followthrough.api import create_app
from followthrough.errors import ConfigError
from followthrough.web.session import SECRET_ENV, SECRET_FILE, session_secret
from store import ApiTokens, Store
from tests.clirunner import followthrough


def test_the_secret_comes_from_the_environment_or_one_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOLLOWTHROUGH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(SECRET_ENV, raising=False)
    first = session_secret()
    path = tmp_path / "home" / SECRET_FILE
    assert path.read_text().strip() == first and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert session_secret() == first  # another process, a restart: the same sessions stay valid
    monkeypatch.setenv(SECRET_ENV, "x" * 40)
    assert session_secret() == "x" * 40
    monkeypatch.setenv(SECRET_ENV, "too-short")
    with pytest.raises(ConfigError, match=SECRET_ENV):
        session_secret()


def test_the_session_cookie_is_secure_over_https(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'https.db'}"
    with Store(url) as store:
        _, token = ApiTokens(store.engine).create("laptop")
    app = create_app(url, as_of=date(2026, 3, 16))
    with TestClient(app, base_url="https://dashboard.example") as c:
        form = c.get("/login")
        login_cookie = form.headers["set-cookie"]
        assert "followthrough_login=" in login_cookie and "Secure" in login_cookie
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf
        r = c.post("/login", data={"token": token, "csrf_token": csrf.group(1)}, follow_redirects=False)
        assert r.status_code == 303
        session = next(h for h in r.headers.get_list("set-cookie") if h.startswith("followthrough_session="))
        assert {"Secure", "HttpOnly"} <= {a.strip() for a in session.split(";")}
        assert "samesite=lax" in session.lower()
        assert c.get("/", follow_redirects=False).status_code == 200


def test_a_session_lives_in_the_store_until_sign_out_or_its_token_is_revoked(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        tokens = ApiTokens(store.engine)
        info, _ = tokens.create("laptop")
        sid, other = "a" * 43, "b" * 43
        tokens.start_session(info.id, sid, lifetime=timedelta(hours=1))
        tokens.start_session(info.id, other, lifetime=timedelta(hours=1))
        principal = tokens.session_principal(sid)
        assert principal is not None and principal.name == "laptop"
        later = datetime.now(UTC) + timedelta(hours=2)
        assert tokens.session_principal(sid, now=later) is None  # past its end
        assert tokens.end_session(sid) and tokens.session_principal(sid) is None  # signed out
        assert not tokens.end_session(sid)
        assert tokens.session_principal(other) is not None  # another browser's session is its own
        tokens.revoke("laptop")
        assert tokens.session_principal(other) is None  # a revoked token signs every session out
        assert tokens.session_principal("c" * 43) is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({SECRET_ENV: "short"}, f"{SECRET_ENV} must be at least 32 characters"),
        ({"FOLLOWTHROUGH_HOME": "{file}"}, "(File exists: {file} is not a folder)"),
        ({"FOLLOWTHROUGH_HOME": "{file}/home"}, "(Not a directory)"),
    ],
)
def test_serve_checks_the_session_key_before_it_says_serving(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    env = {k: v.format(file=a_file) for k, v in env.items()}
    expected = expected.format(file=a_file)
    env.setdefault("FOLLOWTHROUGH_HOME", str(tmp_path / "home"))
    if SECRET_ENV not in env:
        env[SECRET_ENV] = ""
    result = followthrough("serve", "--port", "0", db=tmp_path / "serve.db", env=env)
    assert result.returncode == 1
    assert "Serving" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "***" not in lines[0] and "Traceback" not in result.stderr
