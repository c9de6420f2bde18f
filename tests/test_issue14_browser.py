"""The dashboard in a real headless browser (Debian's chromium through Selenium, nothing downloaded).

Over the demo workspace (``make demo``: fixtures/demo as of its day) served by a real uvicorn server
on loopback, with a token created in the store, as issue 14 will check it: sign in through the form,
see the overdue items with their evidence, mark one done, see it leave the list, reload and it is
still gone; ``/docs`` and ``/redoc`` draw their UI with no request leaving loopback; at phone width
(375 px) no page scrolls sideways; the keyboard alone reaches the Done button. Every page is saved as
a screenshot (tests/browser.py: ``FOLLOWTHROUGH_TEST_ARTIFACTS``, default test-artifacts/screenshots).
Without chromium and chromedriver these tests skip, and fail under CI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from followthrough.api import create_app
from followthrough.types import CommitmentStatus
from store import ApiTokens, CommitmentFilter, CommitmentView, Store
from tests.api_support import LiveServer
from tests.browser import Browser, browser, require_chromium
from tests.clirunner import followthrough
from tests.conftest import DEMO, DEMO_EXPECTED

AS_OF = json.loads(DEMO_EXPECTED.read_text(encoding="utf-8"))["as_of"]
AS_OF_DATE = date.fromisoformat(AS_OF)
PHONE_WIDTH = 375


@dataclass
class Dashboard:
    url: str
    database_url: str
    token: str


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    require_chromium()  # before the demo is built: a skip costs nothing
    db = tmp_path / "demo.db"
    run = followthrough("--as-of", AS_OF, "run", str(DEMO), db=db)
    assert run.returncode == 0, run.stderr
    url = f"sqlite:///{db}"
    with Store(url) as store:
        _, token = ApiTokens(store.engine).create("browser")
    with LiveServer(create_app(url, as_of=AS_OF_DATE)) as server:
        yield Dashboard(server.url, url, token)


def _sign_in(b: Browser, token: str, path: str = "/") -> None:
    b.get(path)
    assert b.page() == "login", b.driver.current_url
    field = b.wait_for('form[action="/login"] input[name="token"]')
    field.send_keys(token)
    b.driver.find_element(By.CSS_SELECTOR, 'form[action="/login"] button[type="submit"]').click()
    b.wait_for('main[data-page]:not([data-page="login"])')


def _overdue(database_url: str) -> list[CommitmentView]:
    with Store(database_url) as store:
        page = store.list_commitments(
            CommitmentFilter(as_of=AS_OF_DATE, status=CommitmentStatus.OPEN, overdue=True, limit=200)
        )
    return page.items


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def test_sign_in_see_the_overdue_items_mark_one_done_and_it_stays_done(
    dashboard: Dashboard, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    expected = _overdue(dashboard.database_url)
    assert expected, "the demo has overdue items"
    with browser(dashboard.url, tmp_path, request.node.name) as b:
        b.get("/")
        assert b.page() == "login" and "/login" in b.driver.current_url  # not signed in: the form
        b.screenshot("login")
        _sign_in(b, dashboard.token)
        assert b.page() == "attention"
        b.screenshot("attention")
        assert b.console_errors() == []
        jump = b.driver.find_element(By.ID, "attention-jump").text
        assert f"Overdue ({len(expected)})" in jump

        shown = {a.get_attribute("data-item-id"): a for a in b.all("#overdue article.item[data-item-id]")}
        assert set(shown) == {str(i.id) for i in expected}
        for item in expected:
            quote = shown[str(item.id)].find_element(By.CSS_SELECTOR, "blockquote.evidence").text
            assert _words(quote) == _words(item.quotes[0].quote), item.id
        charts = b.all('svg[role="img"]')
        assert len(charts) >= 2 and all(c.get_attribute("aria-label") for c in charts)

        # the keyboard alone reaches a Done button
        b.driver.find_element(By.TAG_NAME, "body").click()
        reached = False
        for _ in range(80):
            ActionChains(b.driver).send_keys(Keys.TAB).perform()
            focused = b.driver.switch_to.active_element
            if focused.tag_name == "button" and focused.get_attribute("value") == "done":
                reached = True
                break
        assert reached, "Tab never reached a Done button"

        target = expected[0]
        selector = f'#overdue article.item[data-item-id="{target.id}"]'
        done = b.driver.find_element(By.CSS_SELECTOR, f'{selector} button[name="action"][value="done"]')
        done.send_keys(Keys.ENTER)  # from the keyboard
        b.wait_until_gone(selector)
        b.screenshot("after-done")
        # the counts follow (htmx out-of-band fragments) and the focus stays in the list, not on <body>
        WebDriverWait(b.driver, 10).until(
            lambda d: f"Overdue ({len(expected) - 1})" in d.find_element(By.ID, "attention-jump").text
        )
        focused = WebDriverWait(b.driver, 10).until(
            lambda d: (e := d.switch_to.active_element).tag_name != "body" and e
        )
        assert focused.tag_name in {"button", "h2"}, focused.tag_name
        assert focused.find_elements(By.XPATH, "ancestor::section[@id='overdue']") or (
            focused.get_attribute("id") == "overdue-h"
        )
        b.driver.refresh()
        assert b.page() == "attention"
        assert not b.all(selector)
        assert {a.get_attribute("data-item-id") for a in b.all("#overdue article.item")} == {
            str(i.id) for i in expected[1:]
        }
        with Store(dashboard.database_url) as store:
            assert store.get_commitment(target.id).status == CommitmentStatus.DONE

        # every page renders, signed in, and is kept as a screenshot
        owner = next(i.owner for i in expected if i.owner and "@" in i.owner)
        for path, page in (
            (f"/mine?owner={owner}", "mine"),
            ("/deals", "deals"),
            ("/accounts", "accounts"),
            (f"/items/{target.id}", "item"),
            ("/review", "review"),
        ):
            b.get(path)
            assert b.page() == page, path
            b.screenshot(page)
            assert b.console_errors() == [], path
        assert b.requests_off_loopback() == []


def test_the_api_docs_render_with_nothing_loaded_from_outside(
    dashboard: Dashboard, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with browser(dashboard.url, tmp_path, request.node.name) as b:
        b.get("/docs")
        b.wait_for(".swagger-ui .opblock")  # Swagger UI drew the operations from /openapi.json
        assert b.all(".swagger-ui .info .title")
        b.screenshot("docs")
        assert b.console_errors() == []
        b.get("/redoc")
        b.wait_for(".redoc-wrap .api-content h2", timeout=30)  # ReDoc drew its sections
        b.wait_for('a[href="https://redocly.com/redoc/"]')  # its sidebar's "API docs by Redocly" link
        WebDriverWait(b.driver, 10).until(  # whose logo has loaded, or failed and been taken out
            lambda d: d.execute_script(
                "var i = document.querySelector('img[alt=\"redocly logo\"]'); return !i || i.complete"
            )
        )
        b.screenshot("redoc")
        assert b.console_errors() == []  # no logo refused by the CSP
        urls = b.requests()
        assert any(u.endswith("/static/vendor/swagger-ui/swagger-ui-bundle.js") for u in urls), urls
        assert any(u.endswith("/openapi.json") for u in urls), urls
        assert not [u for u in urls if "redoc.ly" in u], urls  # not even asked for
        assert b.requests_off_loopback() == []


def test_no_page_scrolls_sideways_at_phone_width(
    dashboard: Dashboard, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    item = _overdue(dashboard.database_url)[0]
    with browser(dashboard.url, tmp_path, request.node.name, width=PHONE_WIDTH, height=800) as b:
        b.set_width(PHONE_WIDTH)
        b.get("/login")
        assert b.horizontal_overflow() <= 0
        b.screenshot("phone-login")
        _sign_in(b, dashboard.token)
        for path, page in (
            ("/", "attention"),
            (f"/mine?owner={item.owner or ''}", "mine"),
            ("/deals", "deals"),
            ("/accounts", "accounts"),
            (f"/items/{item.id}", "item"),
            ("/review", "review"),
        ):
            b.get(path)
            assert b.page() == page, path
            assert b.driver.execute_script("return window.innerWidth") == PHONE_WIDTH
            assert b.horizontal_overflow() <= 0, f"{path} is wider than {PHONE_WIDTH}px"
            b.screenshot(f"phone-{page}")
        assert b.requests_off_loopback() == []
