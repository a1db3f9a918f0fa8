# ruff: noqa: F811  (pytest fixtures imported from tests.ui_store are parameters here)
"""`scai ui` for real: the command starts Streamlit on 127.0.0.1, headless Chromium loads a run's
page and finds its plots and constitution. With SCAI_UI_SCREENSHOTS=DIR it also saves a
screenshot of every page (how docs/ui_*.png are made)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from scai.report.reader import StoreReader
from tests.conftest import REPO, free_port
from tests.ui_store import ui_store  # noqa: F401  (fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.model,
    pytest.mark.browser,
    pytest.mark.timeout(1800),  # the shared store is made by real runs of the embedded model
    pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                       reason="needs Debian packages chromium and chromium-driver "
                              "(apt-get install chromium chromium-driver; .ci/run installs them)"),
]


@pytest.fixture
def dashboard(ui_store, tmp_path):
    port = free_port()
    log = open(tmp_path / "ui.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "scai.cli", "ui", "--port", str(port), "--runs-dir",
         str(ui_store.root)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, "SCAI_RUNS_DIR": str(tmp_path / "elsewhere")})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        assert proc.poll() is None, (tmp_path / "ui.log").read_text()
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        pytest.fail("scai ui did not answer within 90 s")
    yield url
    proc.terminate()  # stops like Ctrl-C, Streamlit child included
    proc.wait(30)
    log.close()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/_stcore/health", timeout=2)
    assert f"http://127.0.0.1:{port}" in (tmp_path / "ui.log").read_text()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1800"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def load(driver, url: str, *, texts: list[str], images: int = 0, timeout: float = 90) -> str:
    """Open `url`; wait until the page shows every text and at least `images` <img>/<canvas>."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)

    def ready(d) -> bool:
        body = d.find_element(By.TAG_NAME, "body").text
        pics = d.find_elements(By.CSS_SELECTOR, "[data-testid='stImage'] img, "
                                                "[data-testid='stMain'] canvas")
        busy = d.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidgetRunningIcon']")
        return all(t in body for t in texts) and len(pics) >= images and not busy

    try:
        WebDriverWait(driver, timeout).until(ready)
    except TimeoutException:
        pytest.fail(f"{url} did not show {texts} and {images} images; page text: "
                    f"{driver.find_element(By.TAG_NAME, 'body').text[:1500]}")
    time.sleep(1.0)  # let the last elements settle before a screenshot
    return driver.find_element(By.TAG_NAME, "body").text


def test_dashboard_serves_a_contract_page_with_plots_and_constitution(ui_store, dashboard,
                                                                        browser):
    run = ui_store.contract[1]
    first = StoreReader(ui_store.root).load(run).of("constitution")[0].payload["principles"][0]
    load(browser, f"{dashboard}/?run={run}", texts=["Constitution by epoch", first],
                images=3)
    shots = os.environ.get("SCAI_UI_SCREENSHOTS")
    if not shots:
        return
    out = Path(shots) if Path(shots).is_absolute() else REPO / shots  # tests run in tmp dirs
    out.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(out / "ui_contract.png"))
    pages = [
        ("runs", "", ["Runs", "Open a run"], 0),
        ("converse", f"?run={ui_store.converse}", ["What each agent could see"], 1),
        ("cai", f"?run={ui_store.cai}", ["Base, SFT and DPO"], 2),
        ("generic", f"?run={ui_store.diff}", ["Result"], 1),
        ("broken", f"?run={ui_store.garbled}", ["could not be read"], 0),
    ]
    for name, query, texts, images in pages:
        load(browser, f"{dashboard}/{query}", texts=texts, images=images)
        browser.save_screenshot(str(out / f"ui_{name}.png"))
