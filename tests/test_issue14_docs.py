"""``/docs`` and ``/redoc`` load nothing from outside the server: Swagger UI and ReDoc ship in the package.

FastAPI's default pages pull their scripts from cdn.jsdelivr.net, favicons from
fastapi.tiangolo.com and fonts from Google: on an air-gapped network they are
blank. Here every URL a page names is on the server itself and answers 200 with
the vendored file, byte for byte the npm package's (digests in PROVENANCE.md).
(The real-browser check, with the browser's own network log, is in
tests/test_issue14_browser.py.)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from followthrough.api import create_app
from followthrough.config import Settings
from tests.api_support import AS_OF, LiveServer
from tests.conftest import REPO

VENDOR = REPO / "followthrough" / "web" / "static" / "vendor"
PROVENANCE = VENDOR / "PROVENANCE.md"


class _Urls(HTMLParser):
    """Every URL an HTML page makes the browser load (src, href, and url('...') in inline styles)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('docs') / 'docs.db'}"
    settings = Settings(database_url=url, as_of=AS_OF, company_domains={"northwind.io"})
    with LiveServer(create_app(url, as_of=AS_OF, settings=settings)) as live:
        yield live.url


def _page(server: str, path: str) -> _Urls:
    r = httpx.get(server + path, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    # the browser may load and connect to this server only (ReDoc's bundle names a logo on cdn.redoc.ly)
    policy = dict(d.strip().split(" ", 1) for d in r.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'self'" and policy["connect-src"] == "'self'"
    assert all("http" not in v and "*" not in v for v in policy.values()), policy
    parser = _Urls()
    parser.feed(r.text)
    # nothing absolute: no scheme, no protocol-relative //host
    assert not re.search(r"(?i)\b(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", r.text), r.text
    return parser


@pytest.mark.parametrize(
    ("path", "kinds"),
    [
        (
            "/docs",
            {"swagger-ui-bundle.js": "javascript", "swagger-ui.css": "text/css", "favicon-32x32.png": "png"},
        ),
        ("/redoc", {"redoc.standalone.js": "javascript", "favicon-32x32.png": "png"}),
    ],
)
def test_the_docs_pages_load_only_assets_the_server_serves(
    server: str, path: str, kinds: dict[str, str]
) -> None:
    page = _page(server, path)
    assets = [u for u in page.urls if u.startswith("/static/")]
    assert sorted(Path(u).name for u in assets) == sorted(kinds), page.urls
    for url in assets:
        r = httpx.get(server + url, timeout=30)
        assert r.status_code == 200, url
        assert kinds[Path(url).name] in r.headers["content-type"], (url, r.headers["content-type"])
        on_disk = VENDOR / url.removeprefix("/static/vendor/")
        assert r.content == on_disk.read_bytes(), url
    assert "/openapi.json" in page.urls or any("/openapi.json" in s for s in page.scripts)


def test_swagger_ui_does_not_call_the_online_validator(server: str) -> None:
    page = _page(server, "/docs")
    assert any('"validatorUrl": null' in s for s in page.scripts), page.scripts


def test_the_openapi_document_still_lists_the_api_and_not_the_doc_pages(server: str) -> None:
    paths = httpx.get(server + "/openapi.json", timeout=30).json()["paths"]
    assert "/v1/commitments" in paths
    assert not {"/docs", "/redoc", "/docs/oauth2-redirect"} & set(paths)


def test_the_oauth2_redirect_page_is_served(server: str) -> None:
    r = httpx.get(server + "/docs/oauth2-redirect", timeout=30)
    assert r.status_code == 200
    assert "oauth2" in r.text.lower()


def _digests() -> dict[str, str]:
    text = PROVENANCE.read_text(encoding="utf-8")
    found = {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", text, re.M)}
    assert found, "PROVENANCE.md lists no SHA-256 digests"
    return found


def test_the_vendored_files_are_the_published_ones_with_their_licences() -> None:
    digests = _digests()
    on_disk = sorted(
        str(p.relative_to(VENDOR)) for folder in ("swagger-ui", "redoc") for p in (VENDOR / folder).rglob("*")
    )
    assert on_disk == sorted(digests), (
        "every file of swagger-ui/ and redoc/, and only those, is in PROVENANCE.md"
    )
    for name, digest in digests.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in (VENDOR / "swagger-ui" / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in (VENDOR / "redoc" / "LICENSE").read_text(encoding="utf-8")


def test_a_missing_asset_stops_the_app_from_being_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from followthrough.api import docs

    monkeypatch.setattr(docs, "VENDOR_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="swagger-ui-bundle.js"):
        create_app(f"sqlite:///{tmp_path / 'x.db'}", as_of=AS_OF)
