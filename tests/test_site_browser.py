"""The web catalogue in a real browser: Debian's headless Chromium, driven by Selenium through
Debian's chromedriver (nothing is downloaded).

Pages are opened from file://, the hardest case (no server, no fetch()); the search must rank
exactly as ``kube search`` does, which is checked against kube's own index of the same archive.
Without Chromium these tests are skipped, except in CI (CI=true), where that is a failure.
Screenshots of the index and of a kube page are kept in test-artifacts/site/.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kube.archive import index
from kube.archive import update as archive
from kube.site import build_site
from tests.gitrepo import make_repo
from tests.test_site import RESULTS, archive_files

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "site"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _missing() -> str | None:
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    why = _missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download a driver
    browser = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the archive repository, the site built from it with test results)."""
    repo = make_repo(tmp_path_factory.mktemp("browser-archive") / "repo", archive_files())
    results = tmp_path_factory.mktemp("browser-results") / "results.json"
    results.write_text(json.dumps(RESULTS), encoding="utf-8")
    out = tmp_path_factory.mktemp("browser-site") / "_site"
    build_site(repo, out, results=results)
    return repo, out


def url(site: Path, page: str) -> str:
    return (site / page).resolve().as_uri()


def console_errors(driver: Any) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for(driver: Any, script: str, timeout: float = 10) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def shown_results(driver: Any) -> list[str]:
    return list(
        driver.execute_script(
            "var box = document.getElementById('results');"
            "if (box.hidden) return null;"
            "return Array.from(box.querySelectorAll('.result-name')).map(a => a.textContent);"
        )
        or []
    )


def load_index(driver: Any) -> None:
    """Focus the search box, which loads search-index.js, and wait for it."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "q").click()
    wait_for(driver, "return window.KUBE_SEARCH_INDEX !== undefined && window.kubeSearch !== undefined")


def type_search(driver: Any, text: str) -> list[str]:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(text)
    wait_for(driver, "return !document.getElementById('results').hidden")
    return shown_results(driver)


def kube_search(indexed: index.Index, pattern: str) -> list[str]:
    """What `kube search PATTERN` finds in the same archive, in its order."""
    return [entry.name for entry in indexed.search(pattern)]


@pytest.fixture(scope="module")
def indexed(built: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[index.Index]:
    """kube's own index of the archive, made by `kube update`'s code in a KUBE_HOME of its own."""
    home = tmp_path_factory.mktemp("browser-kube-home")
    saved = os.environ.get("KUBE_HOME")
    os.environ["KUBE_HOME"] = str(home)
    try:
        archive.update(str(built[0]))
        loaded = index.load_index()
    finally:
        if saved is None:
            os.environ.pop("KUBE_HOME", None)
        else:
            os.environ["KUBE_HOME"] = saved
    yield loaded


# --- the tests -----------------------------------------------------------------------------


def test_every_page_loads_without_console_errors(driver: Any, built: tuple[Path, Path]) -> None:
    _, site = built
    driver.get_log("browser")  # drop what came before
    for page in (
        "index.html",
        "kubes.html",
        "install.html",
        "contributing.html",
        "kube/wordpress.html",
        "kube/evil.html",
        "kube/broken.html",
        "404.html",
    ):
        driver.get(url(site, page))
        wait_for(driver, "return document.readyState === 'complete'")
        assert console_errors(driver) == [], page
    driver.get(url(site, "index.html"))
    assert driver.execute_script("return window.KUBE_SEARCH_INDEX") is None  # loaded only when used
    load_index(driver)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "index.png"))
    assert console_errors(driver) == []


def test_typing_etcd_shows_the_etcd_kubes_names_first(
    driver: Any, built: tuple[Path, Path], indexed: index.Index
) -> None:
    _, site = built
    driver.get(url(site, "index.html"))
    found = type_search(driver, "etcd")
    assert found[:3] == ["etcd-discovery", "etcd-ha-cluster", "etcd-standalone"]
    assert found == kube_search(indexed, "etcd")
    assert "evil" in found[3:]  # a keyword match, after the names
    assert console_errors(driver) == []


@pytest.mark.parametrize("pattern", ["web", "ETCD", "database", "redis", "a", "mysql", "zzz-nothing", "raft"])
def test_search_ranks_like_kube_search(
    driver: Any, built: tuple[Path, Path], indexed: index.Index, pattern: str
) -> None:
    _, site = built
    if not driver.current_url.endswith("/kubes.html"):
        driver.get(url(site, "kubes.html"))
        load_index(driver)
    found = driver.execute_script(
        "return window.kubeSearch.rank(window.KUBE_SEARCH_INDEX.kubes, arguments[0], '').map(r => r[0]);",
        pattern,
    )
    assert found == kube_search(indexed, pattern)


def test_status_filter_and_no_match(driver: Any, built: tuple[Path, Path]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _, site = built
    driver.get(url(site, "kubes.html"))
    assert driver.find_element(By.ID, "catalogue").is_displayed()
    Select(driver.find_element(By.ID, "status")).select_by_value("failed")
    wait_for(driver, "return !document.getElementById('results').hidden")
    assert shown_results(driver) == ["mysql"]
    assert not driver.find_element(By.ID, "catalogue").is_displayed()
    Select(driver.find_element(By.ID, "status")).select_by_value("")
    assert type_search(driver, "no-such-kube-anywhere") == []
    assert "No kube matches" in driver.find_element(By.ID, "results").text
    driver.get(url(site, "kubes.html") + "?q=redis")
    wait_for(driver, "return !document.getElementById('results').hidden")
    assert shown_results(driver)[0] == "redis"


def test_kube_page_shows_install_command_dependencies_and_test_result(
    driver: Any, built: tuple[Path, Path]
) -> None:
    from selenium.webdriver.common.by import By

    _, site = built
    driver.get(url(site, "kube/wordpress.html"))
    assert driver.find_element(By.ID, "install-command").text == "kube install wordpress"
    if driver.execute_script("return !!navigator.clipboard"):
        assert driver.find_element(By.CSS_SELECTOR, "button.copy").is_displayed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "kube-wordpress.png"))
    deps = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "ul.deps a")]
    assert deps and any(d.endswith("/kube/mysql.html") for d in deps)
    for dep in deps:
        driver.get(dep)
        assert driver.find_element(By.ID, "install-command").text.startswith("kube install "), dep
        assert console_errors(driver) == []
    driver.get(url(site, "kube/redis.html"))
    assert driver.find_element(By.ID, "test-result").text.startswith("passed")
    driver.get(url(site, "kube/etcd-standalone.html"))
    result = driver.find_element(By.ID, "test-result").text
    assert result.startswith("not run (simulated node)") and "passed" not in result
    driver.get(url(site, "kube/nginx.html"))
    assert driver.find_element(By.ID, "test-result").text.startswith("not tested")


def test_hostile_readme_renders_inert(driver: Any, built: tuple[Path, Path]) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    _, site = built
    driver.get(url(site, "kube/evil.html"))
    wait_for(driver, "return document.readyState === 'complete'")
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018  (reading it is the check)
    scripts = driver.execute_script("return Array.from(document.scripts).map(s => s.src)")
    assert len(scripts) == 0 or all(s.endswith(("search-index.js", "static/search.js")) for s in scripts)
    hrefs = driver.execute_script("return Array.from(document.links).map(a => a.href)")
    assert not [h for h in hrefs if not h.startswith(("https://", "http://", "file://"))]
    readme = driver.find_element(By.CSS_SELECTOR, ".markdown").text
    assert '<script>alert("raw")</script>' in readme and "[click me](javascript:alert('md'))" in readme
    assert (
        driver.execute_script("return document.querySelectorAll('.markdown img, .markdown script').length")
        == 0
    )
    assert console_errors(driver) == []


def test_phone_width_and_dark_scheme(driver: Any, built: tuple[Path, Path]) -> None:
    _, site = built
    driver.set_window_size(375, 800)
    try:
        for page in ("kube/evil.html", "kubes.html", "index.html"):
            driver.get(url(site, page))
            wide = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert wide <= 0, (
                f"{page} scrolls sideways by {wide}px on a phone (the 200-character description?)"
            )
        driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
        )
        driver.get(url(site, "index.html"))
        background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)"
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        driver.set_window_size(1280, 900)


def test_search_results_show_control_characters_as_escapes(driver: Any, built: tuple[Path, Path]) -> None:
    from selenium.webdriver.common.by import By

    _, site = built
    driver.get(url(site, "index.html"))
    assert type_search(driver, "onerror")[0] == "evil"
    shown = driver.find_element(By.CSS_SELECTOR, "#results .description").text
    assert "\\x1b[31mred" in shown and "\x1b" not in shown and "\u202e" not in shown
    assert (
        driver.execute_script("return document.querySelectorAll('#results script, #results img').length") == 0
    )


def test_search_escapes_exactly_what_the_pages_escape(driver: Any, built: tuple[Path, Path]) -> None:
    from kube.core.text import safe_line

    _, site = built
    driver.get(url(site, "index.html"))
    samples = [
        "plain text",
        "\x1b[31mred\x1b[0m\x07\x7f\x85",
        "\u202eevil\u202c \u2066iso\u2069 \u200bzero\u200d \u00adsoft \ufeffbom \u2028line",
        "tag \U000e0041 char, emoji \U0001f600 kept",
        "two\nlines\r\nhere\ttab",
    ]
    for text in samples:
        assert driver.execute_script("return window.kubeSearch.clean(arguments[0])", text) == safe_line(text)
