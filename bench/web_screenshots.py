"""Screenshots of the web page in use (docs/web-*.png): the shipped steerable colorizer on an
example photo, hints placed by clicking (a suggested colour, a picked one) and by strokes, the
suggestions beside a click, and the before/after slider. Needs Chromium and chromedriver.

    python bench/web_screenshots.py [--out docs] [--example coffee]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))


def save(browser, path: Path) -> None:
    """A screenshot as a 256-colour PNG (under 300 KB)."""
    im = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    im.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    print(path, f"{path.stat().st_size / 1024:.0f} KB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs")
    ap.add_argument("--example", default="coffee")
    args = ap.parse_args()
    from helpers import browser_on
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait
    from test_serve import _click_photo, _shown

    from chromaprior.apps import web as serve

    out = Path(args.out)
    with browser_on(serve.create_app()) as (browser, url):
        browser.set_window_size(1180, 900)
        browser.get(url)
        WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.body.dataset.ready") == "1")
        browser.find_element("css selector", f"#examples img[alt='example: {args.example}']").click()
        _shown(browser)
        w = browser.execute_script("return S.photo.width")
        browser.execute_script("document.getElementById('radius').value = 9")

        def pick(x, y, colour=None, suggestion=0):
            _click_photo(browser, x, y, w)
            WebDriverWait(browser, 60).until(lambda b: b.find_element("id", "pop").get_attribute("data-ready") == "1")
            if colour is None:
                browser.find_elements("css selector", "#swatches button.swatch")[suggestion].click()
            else:
                browser.execute_script(f"document.getElementById('pick').value = '{colour}'")
                browser.find_element("id", "pickuse").click()
            _shown(browser)

        def stroke(x, y, moves, colour):
            browser.execute_script(f"document.getElementById('colour').value = '{colour}'")
            marks = browser.find_element("id", "marks")
            scale = marks.rect["width"] / w
            chain = ActionChains(browser).move_to_element_with_offset(
                marks, x * scale - marks.rect["width"] / 2, y * scale - marks.rect["height"] / 2).click_and_hold()
            for dx, dy in moves:
                chain = chain.move_by_offset(dx * scale, dy * scale)
            chain.release().perform()
            _shown(browser)

        if args.example == "coffee":  # the cup's saucer, the coffee, the table, the spoon
            stroke(60, 300, [(60, 10), (60, 5), (60, 0)], "#8a5a32")
            pick(250, 150, "#6b3a1e")
            pick(420, 40, suggestion=0)
            stroke(380, 300, [(40, -5), (40, -5)], "#8a5a32")
            pick(150, 60, "#2f5f8a")
        _click_photo(browser, 330, 240, w)
        WebDriverWait(browser, 60).until(lambda b: b.find_element("id", "pop").get_attribute("data-ready") == "1")
        save(browser, out / "web-suggest.png")
        browser.find_element("id", "popclose").click()
        save(browser, out / "web-hints.png")
        browser.find_element("id", "showmarks").click()  # the result itself, the hints not drawn
        browser.execute_script("const c = document.getElementById('compare'); c.value = 45;"
                               "c.dispatchEvent(new Event('input'))")
        save(browser, out / "web-slider.png")


if __name__ == "__main__":
    main()
