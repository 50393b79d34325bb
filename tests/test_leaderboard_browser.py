"""The leaderboard in headless Chromium: sort a column, filter, open a model page; numbers checked against the store.

Needs Debian's ``chromium`` and Playwright's Python package (no browser download); skipped, with the reason,
where either is missing or Chromium cannot start. ``BRAINALIGN_LEADERBOARD_SHOT=path.png`` saves a screenshot
(docs/leaderboard.png was made so).
"""

import os
import shutil
import subprocess
import threading

import pytest

from brainalign.report.leaderboard import build_site, serve

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# the recipe's flags (../shared/recipes/headless-browser.md): no background connections on a closed network
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def _install_chromium() -> None:
    """Install Debian's chromium when missing and this is root with apt-get (as `.ci/run` on a fresh machine)."""
    if os.path.exists(CHROMIUM) or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    subprocess.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium || "
                   "(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)",
                   shell=True, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    _install_chromium()
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        except Exception as error:  # noqa: BLE001 - any launch failure means: no browser here
            pytest.skip(f"Chromium cannot start: {str(error).splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site_url(tmp_path_factory):
    from test_leaderboard import make_store

    folder = tmp_path_factory.mktemp("board")
    store = make_store(folder / "results.sqlite", seed=3)
    build_site(store.table(), folder / "site", composites=["vision"])
    server = serve(folder / "site", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", store.table()
    server.shutdown()
    server.server_close()


def _column(page, key: str) -> list[float]:
    return [float(v) if v else float("nan") for v in
            page.eval_on_selector_all(f'#board tbody td[data-key="{key}"]', "cells => cells.map(c => c.dataset.value)")]


def _models(page) -> list[str]:
    return page.eval_on_selector_all("#board tbody tr", "rows => rows.map(r => r.dataset.model)")


def test_sort_filter_and_model_page(browser, site_url):
    url, table = site_url
    page = browser.new_page(viewport={"width": 1400, "height": 700})
    page.goto(url)
    benchmark = "Net2Brain78.IT-rsa"
    best = table[table.benchmark == benchmark].groupby("model")["score"].max()

    page.click(f'#board th[data-key="{benchmark}"]')  # first click: best first
    assert _models(page) == list(best.sort_values(ascending=False).index)
    assert _column(page, benchmark) == list(best.sort_values(ascending=False))
    assert page.get_attribute(f'#board th[data-key="{benchmark}"]', "aria-sort") == "descending"
    page.click(f'#board th[data-key="{benchmark}"]')
    assert _models(page) == list(best.sort_values().index)

    page.fill("#filter", "random")
    assert _models(page) == ["efficientnet_lite0_random"]
    assert page.inner_text("#count") == "1 of 3 models"
    page.fill("#filter", "")
    assert len(_models(page)) == 3
    if os.environ.get("BRAINALIGN_LEADERBOARD_SHOT"):
        page.screenshot(path=os.environ["BRAINALIGN_LEADERBOARD_SHOT"], full_page=True)

    page.click('#board a:text-is("efficientnet_lite0")')
    page.wait_for_selector("#training-status")
    assert page.url.endswith("/models/efficientnet_lite0.html")
    assert page.inner_text("#training-status") == "ImageNet-1k"
    rows = table[(table.model == "efficientnet_lite0") & (table.benchmark == benchmark)].set_index("layer")
    shown = page.eval_on_selector_all(
        f'table[data-benchmark="{benchmark}"] tbody tr',
        "rows => rows.map(r => Array.from(r.cells).map(c => c.dataset.value || c.textContent))")
    for layer, score, *_rest in shown:
        assert float(score) == rows.loc[layer, "score"]
    assert page.inner_text(f'table[data-benchmark="{benchmark}"] tr.best td') == rows["score"].idxmax()
    page.close()
