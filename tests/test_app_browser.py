"""The page itself, driven in headless Chromium: pick a template, type text, generate, look.

Needs Debian's ``chromium`` and ``chromium-driver`` (CI installs them); skips without them.
The screenshot lands in ``outputs/tests/`` (git-ignored) and its path is printed.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from talker.templates.store import DEFAULT_TEMPLATE

from .test_app import ROOT, assert_playable, server_fixture  # noqa: F401 - the shared app fixture "server"

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
SHOTS = ROOT / "outputs" / "tests"

pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="headless browser test needs chromium + chromedriver "
                                       "(apt-get install -y chromium chromium-driver)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1400,1900", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def _wait(drv, cond, timeout: float, what: str):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(drv, timeout, poll_frequency=0.5).until(cond)
    except TimeoutException:
        SHOTS.mkdir(parents=True, exist_ok=True)
        drv.save_screenshot(str(SHOTS / "app_browser_failure.png"))
        raise AssertionError(f"timed out waiting for {what}; see {SHOTS / 'app_browser_failure.png'}") from None


def _click(drv, find, timeout: float = 30.0) -> None:
    """Click once the page's loading overlays (progress spinners) have gone."""
    from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        try:
            find(drv).click()
            return
        except (ElementClickInterceptedException, StaleElementReferenceException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_pick_template_type_generate(server, browser):
    from selenium.webdriver.common.by import By

    drv = browser
    drv.get(server.url)
    _wait(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "#tpl-gallery button img"), 60, "the template gallery")
    # the gallery shows every bundled template, the default (a real person's clip) first, and each
    # caption names the person, the language and the licence
    thumbs = drv.find_elements(By.CSS_SELECTOR, "#tpl-gallery button img")
    assert len(thumbs) >= 12, len(thumbs)
    captions = drv.execute_script(
        "return Array.from(document.querySelectorAll('#tpl-gallery button')).map(b => b.innerText);")
    assert sum("CC BY 4.0" in c for c in captions) == 10 and any("ODbL" in c for c in captions), captions
    _click(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "#tpl-gallery button img")[0])
    _wait(drv, lambda d: d.find_element(By.CSS_SELECTOR, "#tpl-name input").get_attribute("value") == DEFAULT_TEMPLATE,
          20, "the template to be picked")
    _wait(drv, lambda d: "zenodo.3625687" in d.find_element(By.ID, "tpl-name-credit").text, 20, "its attribution")
    SHOTS.mkdir(parents=True, exist_ok=True)
    drv.save_screenshot(str(SHOTS / "app_browser_gallery.png"))
    box = drv.find_element(By.CSS_SELECTOR, "#text-input textarea")
    box.clear()
    box.send_keys("Hello from the browser test. The default template is speaking now.")
    t = time.perf_counter()
    _click(drv, lambda d: d.find_element(By.CSS_SELECTOR, "#generate-btn"))
    video = _wait(drv, lambda d: (d.find_elements(By.CSS_SELECTOR, "#out-video video[src]") or [None])[0], 180,
                  "the generated video")
    _wait(drv, lambda d: "what ran" in d.find_element(By.ID, "out-details").text, 30, "the engine table")
    _wait(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "#out-mel img[src]"), 30, "the mel picture")
    took = time.perf_counter() - t
    # the page's video is the server's file: fetch it as the browser would and check it plays
    import urllib.request

    src = video.get_attribute("src")
    out = SHOTS / "app_browser.mp4"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(src, timeout=30) as r:
        out.write_bytes(r.read())
    assert_playable(out, 2.0)
    ready = drv.execute_script(
        "const v = arguments[0]; return new Promise(res => { if (v.readyState >= 1) res(v.duration);"
        " v.addEventListener('loadedmetadata', () => res(v.duration)); setTimeout(() => res(-1), 15000); });", video)
    assert ready and ready > 2.0, f"the browser could not load the video (duration {ready})"
    errors = [e.text for e in drv.find_elements(By.CSS_SELECTOR, ".toast-body.error")]
    assert not errors, errors
    height = drv.execute_script("return document.documentElement.scrollHeight")
    drv.set_window_size(1400, min(int(height) + 40, 4000))  # the whole page in one picture
    time.sleep(1.5)  # let images finish painting
    shot = SHOTS / "app_browser.png"
    drv.save_screenshot(str(shot))
    print(f"\nbrowser: generated in {took:.1f} s; screenshot {shot}")
    assert shot.stat().st_size > 50_000


def test_error_reaches_the_page(server, browser):
    from selenium.webdriver.common.by import By

    drv = browser
    drv.get(server.url)
    _wait(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "#generate-btn"), 60, "the page")
    drv.find_element(By.CSS_SELECTOR, "#text-input textarea").clear()
    _click(drv, lambda d: d.find_element(By.CSS_SELECTOR, "#generate-btn"))
    toast = _wait(drv, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "[data-testid='toast-body'], .toast-body")
                                  if "Type the text" in e.text], 30, "the error message")
    assert "Traceback" not in toast[0].text
    drv.save_screenshot(str(Path(SHOTS) / "app_browser_error.png"))


def test_example_runs_from_the_page(server, browser):
    """Clicking the first example generates a video on the bundled template, offline."""
    from selenium.webdriver.common.by import By

    drv = browser
    drv.get(server.url)
    _wait(drv, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "table tbody tr td")
                          if "talking head" in e.text], 60, "the examples")
    _click(drv, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "table tbody tr td")
                           if "talking head" in e.text][0])
    _wait(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "#out-video video[src]"), 180, "the example's video")
    assert "Hello! I am a talking head" in drv.find_element(By.CSS_SELECTOR, "#text-input textarea").get_attribute(
        "value")


def test_voice_picker_plays_a_preview_and_face_sliders_are_there(server, browser):
    """On the page: choose a voice by name, hear its preview (the audio player gets the file), and
    find the face sliders under their accordion."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    drv = browser
    drv.get(server.url)
    box = _wait(drv, lambda d: (d.find_elements(By.CSS_SELECTOR, "#voice-pick input") or [None])[0], 60,
                "the voice menu")
    _click(drv, lambda d: d.find_element(By.CSS_SELECTOR, "#voice-pick input"))
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("joe")
    _wait(drv, lambda d: [o for o in d.find_elements(By.CSS_SELECTOR, "ul[role='listbox'] li") if "joe" in o.text],
          20, "the voice's entry")
    box.send_keys(Keys.ENTER)
    _click(drv, lambda d: d.find_element(By.CSS_SELECTOR, "#voice-preview-btn"))
    _wait(drv, lambda d: d.execute_script(
        "const a = document.querySelector('#voice-preview audio');"
        "const link = document.querySelector('#voice-preview a[href*=\".wav\"]');"
        "return Boolean((a && a.src) || link);"),
        120, "the preview's audio")
    _click(drv, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "button, span")
                           if e.text.startswith("Face: expression")][0])
    _wait(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "#face-head-motion input[type='range']"), 20,
          "the head-motion slider")
    labels = drv.execute_script("return Array.from(document.querySelectorAll('[id^=face-]')).map(e => e.innerText);")
    assert any("Blink rate" in x for x in labels) and any("Mouth opening" in x for x in labels), labels
    errors = [e.text for e in drv.find_elements(By.CSS_SELECTOR, ".toast-body.error")]
    assert not errors, errors
    SHOTS.mkdir(parents=True, exist_ok=True)
    drv.save_screenshot(str(SHOTS / "app_browser_voice.png"))


def test_the_video_plays_while_the_job_is_still_running(server, browser):
    """A long text: the live player is playing (its time past 0) before the whole mp4 exists;
    then leaving the page stops the job and frees the worker."""
    from selenium.webdriver.common.by import By

    from .test_app import LONG_TEXT

    drv = browser
    drv.get(server.url)
    box = _wait(drv, lambda d: (d.find_elements(By.CSS_SELECTOR, "#text-input textarea") or [None])[0], 60,
                "the page")
    drv.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));",
                       box, LONG_TEXT)
    t = time.perf_counter()
    _click(drv, lambda d: d.find_element(By.CSS_SELECTOR, "#generate-btn"))
    playing = ("const v = document.querySelector('#live-video video');"
               "return v ? [v.currentTime, !v.paused] : null;")

    def started(d):
        state = d.execute_script(playing)
        return state if state and state[0] > 0.5 else None

    state = _wait(drv, started, 120, "the live player to play")
    waited = time.perf_counter() - t
    whole = drv.find_elements(By.CSS_SELECTOR, "#out-video video[src]")
    assert not whole, "the whole video was already there: nothing was streamed"
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "app_browser_live.png"
    drv.save_screenshot(str(shot))
    print(f"\nlive player at {state[0]:.1f} s, {waited:.1f} s after the click, job still running; screenshot {shot}")
    drv.get("about:blank")  # the visitor leaves
    from gradio_client import Client

    t = time.perf_counter()
    _live, video, *_ = Client(server.url, verbose=False).predict(
        "astronaut", None, "", "After the visitor left.", "auto", 1.0, 32, 2.0, 0, "512",
        "offline (visemes + renderer)", True, "auto", api_name="/generate")
    took = time.perf_counter() - t
    assert_playable(video, 0.5)
    print(f"the next job took {took:.1f} s")
    assert took < 60, f"the next job waited {took:.0f} s: the abandoned one kept the worker"


def test_dub_tab_shows_its_controls(server, browser):
    """The "Dub a video" tab: its help says what is kept, the video upload, the rest choice and the
    Dub button are there; choosing "Text" swaps the audio upload for the text box and voice menu."""
    from selenium.webdriver.common.by import By

    drv = browser
    drv.get(server.url)

    def dub_tab(d):
        return [b for b in d.find_elements(By.CSS_SELECTOR, "button[role='tab']") if "Dub a video" in b.text]

    _wait(drv, dub_tab, 60, "the Dub tab")
    _click(drv, lambda d: dub_tab(d)[0])
    _wait(drv, lambda d: d.find_element(By.ID, "dub-btn").is_displayed(), 20, "the Dub button")
    assert "Every frame of the video is kept" in drv.find_element(By.ID, "dub-help").text
    assert drv.find_element(By.ID, "dub-video").is_displayed() and drv.find_element(By.ID, "dub-audio").is_displayed()
    rest = drv.find_element(By.ID, "dub-rest").text
    assert "Cut the video there" in rest and "Keep the rest with its own sound" in rest

    def shown(d, css: str) -> list:  # a hidden control is not on the page at all, or not displayed
        return [e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]

    assert not shown(drv, "#dub-text textarea")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "app_browser_dub_tab.png"
    drv.save_screenshot(str(shot))
    _click(drv, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "#dub-speech label") if e.text == "Text"][0])
    _wait(drv, lambda d: shown(d, "#dub-text textarea"), 20, "the text box")
    _wait(drv, lambda d: not shown(d, "#dub-audio"), 20, "the audio upload to hide")
    assert shown(drv, "#dub-voice")
    errors = [e.text for e in drv.find_elements(By.CSS_SELECTOR, ".toast-body.error")]
    assert not errors, errors
    drv.save_screenshot(str(SHOTS / "app_browser_dub_text.png"))
    print(f"\nscreenshot {shot}")
