"""A real headless browser for the dashboard tests: Debian's ``chromium`` driven through Selenium by
Debian's ``chromedriver``, nothing downloaded.

Both paths are given to Selenium (``Service(executable_path=...)``, ``binary_location``) and
``SE_OFFLINE=1`` is set, so Selenium Manager never looks anything up on the network. Without
chromium or chromedriver (``apt-get install chromium chromium-driver``) a test skips, except under CI
(``CI=true``), where it fails (:func:`tests.conftest.in_ci`), as PostgreSQL's absence does.

:class:`Browser` records the URL of every request the page makes (Chrome's DevTools ``Network``
events, from the ``performance`` log) so that a test can assert none left loopback, and saves
screenshots to :func:`artifacts_dir` (``FOLLOWTHROUGH_TEST_ARTIFACTS``, default
``test-artifacts/screenshots`` under the repository, git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import REPO, _missing

ARTIFACTS_ENV = "FOLLOWTHROUGH_TEST_ARTIFACTS"
DEFAULT_ARTIFACTS = REPO / "test-artifacts" / "screenshots"
_ARTIFACTS = os.environ.get(ARTIFACTS_ENV)  # read at import: each test runs scrubbed of FOLLOWTHROUGH_*
CHROMIUM_NAMES = ("chromium", "chromium-browser")
CHROMEDRIVER = "chromedriver"
WAIT_S = 15.0
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
IN_BROWSER = {"data", "blob", "about", "chrome", "chrome-untrusted", "chrome-error", "devtools"}
"""URL schemes the browser answers itself (its new-tab page, inline data): no network."""


def artifacts_dir() -> Path:
    """Where screenshots go (created): ``FOLLOWTHROUGH_TEST_ARTIFACTS`` or ``test-artifacts/screenshots``."""
    path = Path(_ARTIFACTS or DEFAULT_ARTIFACTS)
    path.mkdir(parents=True, exist_ok=True)
    return path


def require_chromium() -> tuple[str, str]:
    """The paths of chromium and chromedriver, or a skip naming what is missing; a failure under CI."""
    browser = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver = shutil.which(CHROMEDRIVER)
    if browser is None or driver is None:
        what = " and ".join(n for n, p in (("chromium", browser), ("chromedriver", driver)) if p is None)
        _missing(f"{what} not found (apt-get install chromium chromium-driver)")
    return browser, driver


def _options(binary: str, profile: Path, width: int, height: int) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI containers run as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--lang=en-US",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return options


class Browser:
    """One headless chromium window on the dashboard at ``base_url``."""

    def __init__(self, driver: webdriver.Chrome, base_url: str, shots: Path, prefix: str) -> None:
        self.driver = driver
        self.base_url = base_url
        self.shots = shots
        self.prefix = prefix
        self._requests: dict[str, str] = {}
        self._blocked: set[str] = set()
        self._metrics: dict[str, object] | None = None  # the viewport set_width emulates, if any

    def get(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def wait_for(self, css: str, timeout: float = WAIT_S) -> WebElement:
        """The first element matching ``css`` once there is one; fails the test after ``timeout`` s."""
        try:
            return WebDriverWait(self.driver, timeout).until(lambda d: d.find_element(By.CSS_SELECTOR, css))
        except TimeoutException:
            self.screenshot("timeout")
            pytest.fail(f"no {css!r} on {self.driver.current_url} within {timeout:g}s")

    def wait_until_gone(self, css: str, timeout: float = WAIT_S) -> None:
        try:
            WebDriverWait(self.driver, timeout).until(lambda d: not d.find_elements(By.CSS_SELECTOR, css))
        except TimeoutException:
            self.screenshot("still-there")
            pytest.fail(f"{css!r} still on {self.driver.current_url} after {timeout:g}s")

    def all(self, css: str) -> list[WebElement]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def page(self) -> str | None:
        """The ``data-page`` of the page's ``<main>``."""
        return self.wait_for("main[data-page]").get_attribute("data-page")

    def screenshot(self, name: str) -> Path:
        """The whole page (its full height) saved as ``<test>-<name>.png`` in the artifacts folder."""
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{self.prefix}-{name}").strip("-")
        path = self.shots / f"{safe}.png"
        width = self.driver.execute_script("return document.documentElement.clientWidth")
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        mobile = bool(self._metrics and self._metrics["mobile"])
        metrics = {"width": width, "height": min(int(height), 8000), "deviceScaleFactor": 1, "mobile": mobile}
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        try:
            self.driver.save_screenshot(str(path))
        finally:
            if self._metrics is None:
                self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            else:
                self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", self._metrics)
        return path

    def _read_log(self) -> None:
        for entry in self.driver.get_log("performance"):  # type: ignore[no-untyped-call]
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message.get("method") == "Network.requestWillBeSent":
                self._requests[f"{params['requestId']} {params['request']['url']}"] = params["request"]["url"]
            elif message.get("method") == "Network.loadingFailed" and params.get("blockedReason"):
                self._blocked.add(params["requestId"])  # refused by the browser itself (CSP): never sent

    def requests(self) -> list[str]:
        """Every URL the page asked for since the browser started (DevTools ``Network.requestWillBeSent``),
        including those the browser then refused to send."""
        self._read_log()
        return list(self._requests.values())

    def requests_off_loopback(self) -> list[str]:
        """The requests that went anywhere but this machine (:data:`IN_BROWSER` schemes never leave it)."""
        self._read_log()
        out = []
        for key, url in self._requests.items():
            if key.split(" ", 1)[0] in self._blocked:
                continue
            parts = urlsplit(url)
            if parts.scheme in IN_BROWSER:
                continue
            if parts.hostname not in LOOPBACK:
                out.append(url)
        return out

    def console_errors(self) -> list[str]:
        """The console's errors since the last call (``SEVERE`` entries of the ``browser`` log: a script
        error, a resource that failed to load or that the Content-Security-Policy refused)."""
        entries = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return [str(e.get("message")) for e in entries if e.get("level") == "SEVERE"]

    def set_width(self, width: int, height: int = 800) -> None:
        """Emulate a viewport ``width`` CSS pixels wide (a phone: 375), as a phone does (``mobile``)."""
        self._metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", self._metrics)

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the page is wider than its viewport (0: no horizontal scroll)."""
        return int(
            self.driver.execute_script(
                "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                " - document.documentElement.clientWidth"
            )
        )


@contextmanager
def browser(
    base_url: str, tmp_path: Path, prefix: str, *, width: int = 1280, height: int = 900
) -> Iterator[Browser]:
    """A :class:`Browser` on ``base_url`` (a loopback server), closed afterwards.

    ``prefix`` names its screenshots (the test's name). Skips (fails under CI) without chromium.
    """
    binary, driver_path = require_chromium()
    mp = pytest.MonkeyPatch()
    mp.setenv("SE_OFFLINE", "1")  # Selenium Manager must not download a browser or a driver
    mp.delenv("SE_MANAGER_PATH", raising=False)
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    service = Service(executable_path=driver_path, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=_options(binary, profile, width, height))
    try:
        driver.set_page_load_timeout(60)
        driver.execute_cdp_cmd("Network.enable", {})
        yield Browser(driver, base_url, artifacts_dir(), prefix)
    finally:
        driver.quit()
        mp.undo()
