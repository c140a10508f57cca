"""Headless Chromium (Debian's `chromium` + `chromium-driver`) driven by selenium, offline.

Every flag that would make Chromium reach the network (updates, sync, QUIC,
background requests) is off and each browser gets a fresh profile, so a test
sees only the page under test.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Callable

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--disable-extensions", "--hide-scrollbars",
         "--force-device-scale-factor=1")


def chromium(profile: Path, width: int = 1280, height: int = 800) -> Any:
    """A selenium driver for a new headless Chromium (pytest.fail if it is not installed)."""
    for tool in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: install chromium and chromium-driver "
                        "(scripts/install-system-deps.sh)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    return driver


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)


def surface(driver: Any, expression: str) -> Any:
    """A value of the page's `window.gansynthSurface` (its state, connection, refusal)."""
    return driver.execute_script(f"return window.gansynthSurface && "
                                 f"window.gansynthSurface.{expression};")
