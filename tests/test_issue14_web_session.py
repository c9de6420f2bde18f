"""The dashboard's session secret and cookie flags, without a server: where the secret comes from, that
it is kept private and shared by the processes of one machine, and that the cookie is Secure over HTTPS."""

from __future__ import annotations

import re
import stat
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from followthrough.api import create_app
from followthrough.errors import ConfigError
from followthrough.web.session import SECRET_ENV, SECRET_FILE, session_secret
from store import ApiTokens, Store


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
