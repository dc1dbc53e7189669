"""Regenerate the screenshots in docs/img: the app running its default model, its network
tab, and the microcircuit's diagram. Needs Chromium (/usr/bin/chromium) and Playwright.

    python docs/make_screenshots.py
"""
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"


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
        page = b.new_page(viewport={"width": 1500, "height": 1150})
        page.goto(url, timeout=180_000)
        page.locator(".status-line").first.wait_for(timeout=180_000)
        page.get_by_role("button", name="Run").click()
        time.sleep(4)
        page.get_by_role("button", name="Pause").click()
        time.sleep(1)
        page.screenshot(path=str(IMG / "app-running.png"))
        page.get_by_text("Network", exact=True).first.click()
        time.sleep(1)
        page.screenshot(path=str(IMG / "app-network-tab.png"))
        page.set_viewport_size({"width": 1000, "height": 900})
        page.set_content(f"<html><body style='margin:0;background:white'>{svg.read_text()}</body></html>")
        page.locator("svg").first.screenshot(path=str(IMG / "microcircuit-diagram.png"))
        b.close()


if __name__ == "__main__":
    main()
