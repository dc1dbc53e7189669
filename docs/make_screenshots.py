"""Regenerate the screenshots in docs/img: the app running its default model and its
network tab; the microcircuit and the clustered network running (every population in the
raster) with their diagrams; a lesson in progress; presentation mode at 1280x720. Needs
Chromium (/usr/bin/chromium) and Playwright. About two minutes on 2 cores.

    python docs/make_screenshots.py
"""
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"


def run_for(page, seconds: float):
    page.get_by_role("button", name="Run").click()
    time.sleep(seconds)
    page.get_by_role("button", name="Pause").click()
    time.sleep(1.5)  # the last refresh reaches the page


def open_page(browser, url: str, width=1500, height=1150):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url, timeout=180_000)
    page.locator(".status-line").first.wait_for(timeout=180_000)
    return page


def network_tab(page, path: Path):
    page.locator(".bk-tab", has_text="Network").first.click()
    page.locator("svg.spikescope-notation").first.wait_for(timeout=60_000)
    time.sleep(1)
    page.screenshot(path=str(path))


def main():
    sys.path.insert(0, str(ROOT))
    from app.launch import CHROMIUM_ARGS, running_app
    from sim_core.models.registry import preset_dict
    from sim_core.spec import from_dict
    from widgets.notation import network_svg
    svg = IMG / "microcircuit-diagram.svg"
    svg.write_text(network_svg(from_dict(preset_dict("microcircuit", 0.1)), width=1000))
    with running_app(backend="cpu") as url, sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = open_page(b, url)
        run_for(page, 4)
        page.screenshot(path=str(IMG / "app-running.png"))
        network_tab(page, IMG / "app-network-tab.png")
        page.close()

        for preset, scale, seconds in (("microcircuit", 0.1, 12), ("clustered", 1.0, 8)):
            page = open_page(b, f"{url}?preset={preset}&scale={scale}")
            run_for(page, seconds)
            page.screenshot(path=str(IMG / f"app-{preset}.png"))
            network_tab(page, IMG / f"app-{preset}-network.png")
            page.close()

        page = open_page(b, url)  # a lesson: Brunel's regimes, its SR step done by Show me
        page.get_by_label("Lesson").select_option(label="Brunel's network: its regimes")
        time.sleep(2)
        page.get_by_role("button", name="Next").click()
        time.sleep(1)
        page.get_by_role("button", name="Show me").click()
        time.sleep(2)
        run_for(page, 4)
        page.screenshot(path=str(IMG / "app-lesson.png"))
        page.close()

        page = open_page(b, url + "?present=1", 1280, 720)
        run_for(page, 4)
        page.screenshot(path=str(IMG / "app-presentation-1280x720.png"))
        page.close()

        page = b.new_page(viewport={"width": 1000, "height": 900})
        page.set_content(f"<html><body style='margin:0;background:white'>{svg.read_text()}</body></html>")
        page.locator("svg").first.screenshot(path=str(IMG / "microcircuit-diagram.png"))
        b.close()


if __name__ == "__main__":
    main()
