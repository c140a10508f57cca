"""The web surface in a real browser (headless Chromium) against a live session on JACK.

The pad, the keyboard and the buttons are used as a performer would (pointer
and key events through WebDriver); what counts is what the server then holds
and plays (the instrument's state, the engine's notes), and what the page
shows of changes made elsewhere (MIDI, another page). With
GANSYNTH_LIVE_WRITE_SCREENSHOT=1 the pad test writes docs/images/web-surface.png
(laptop), web-surface-phone.png and web-surface-phone-library.png (phone portrait,
scrolled to the presets and the map) for docs/web.md; the map there is the default
model's (the tone model has no quality measurements).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from browser import chromium, surface, wait_for
from serve_testing import open_session

pytestmark = pytest.mark.jack

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "images"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture
def session(jack_server, tmp_path, monkeypatch):
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    session, out = open_session(tmp_path, preset="duo", morph=[0.0, 0.5], midi=False,
                                web_port=0)
    session.console_text = out
    yield session
    session.close()


def open_page(driver, session, query=""):
    driver.get(f"http://127.0.0.1:{session.web.port}/{query}")
    wait_for(lambda: surface(driver, "connected"), 10, "the page to connect")
    wait_for(lambda: surface(driver, "state['/preset/name']"), 5, "the first feedback")


def drag(driver, element, points):
    """Press at the first (x, y) fraction of `element` (y up), move through the rest, let go."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    to = [at(element, x, y) for x, y in points]
    actions = ActionBuilder(driver)
    pointer = actions.pointer_action
    pointer.move_to(element, *to[0]).pointer_down()
    for x, y in to[1:]:
        pointer.move_to(element, x, y)
    pointer.pointer_up()
    actions.perform()


def test_the_pad_moves_the_morph_and_follows_it(browser, session, monkeypatch):
    from selenium.webdriver.common.by import By

    assert f"web surface: http://127.0.0.1:{session.web.port}/" in \
        session.console_text.getvalue()
    open_page(browser, session)
    assert browser.find_element(By.ID, "corner-1-name").text == "fund"
    assert browser.find_element(By.ID, "corner-2-name").text == "oct"
    pad = browser.find_element(By.ID, "pad")
    drag(browser, pad, [(0.5, 0.5), (0.65, 0.4), (0.8, 0.25)])
    wait_for(lambda: abs(session.instrument.state().x - 0.8) < 0.02 and
             abs(session.instrument.state().y - 0.25) < 0.02, 5, "the server's morph to move")
    session.instrument.set_morph(x=0.1, y=0.9)  # as a MIDI controller would
    cursor = browser.find_element(By.ID, "cursor")
    wait_for(lambda: abs(float(cursor.get_attribute("data-x")) - 0.1) < 1e-6 and
             abs(float(cursor.get_attribute("data-y")) - 0.9) < 1e-6, 5,
             "the cursor to follow the server")
    if os.environ.get("GANSYNTH_LIVE_WRITE_SCREENSHOT") == "1":
        session.instrument.set_morph(x=0.35, y=0.6)
        session.status_text = session.status_line()  # what `run` shows every 0.25 s
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        default_map(monkeypatch)
        session.instrument.set_recording(True)  # REC lit, with its running time
        browser.set_window_size(1280, 800)
        browser.refresh()
        wait_for(lambda: surface(browser, "connected"), 10)
        wait_for(lambda: browser.find_elements("css selector", "#map .point"), 5)
        wait_for(lambda: browser.find_element("id", "rec-time").text, 5)
        wait_for(lambda: abs(float(browser.find_element(By.ID, "cursor").get_attribute(
            "data-x")) - 0.35) < 1e-6, 5)
        for pitch in (60, 64, 67):  # a chord sounding: voices, cpu and the level meter move
            session.instrument.note(pitch, 100)
        wait_for(lambda: browser.find_element(By.ID, "level-db").text != "-inf dB", 5)
        browser.save_screenshot(str(SCREENSHOTS / "web-surface.png"))
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {  # a phone, upright
            "width": 390, "height": 760, "deviceScaleFactor": 1, "mobile": True})
        try:
            browser.refresh()
            wait_for(lambda: surface(browser, "connected"), 10)
            wait_for(lambda: surface(browser, "state['/preset/name']"), 5)
            browser.save_screenshot(str(SCREENSHOTS / "web-surface-phone.png"))
            wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#map .point"), 5)
            browser.execute_script("document.getElementById('surface').scrollTop = "
                                   "document.getElementById('library').offsetTop - 8")
            browser.save_screenshot(str(SCREENSHOTS / "web-surface-phone-library.png"))
        finally:
            browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            session.instrument.set_recording(False)
            session.instrument.all_notes_off()
    assert session.web.stats().bad_json == 0 and session.web.stats().bad_messages == 0


def test_keys_play_notes_on_screen_and_from_the_computer_keyboard(browser, session):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    open_page(browser, session)
    engine = session.engine
    started = engine.stats().notes_started
    key = browser.find_element(By.CSS_SELECTOR, '.key[data-pitch="69"]')  # A4
    ActionChains(browser).move_to_element(key).click_and_hold().perform()
    wait_for(lambda: engine.stats().voices_sounding >= 1, 5, "a voice to sound")
    assert engine.stats().notes_started == started + 1
    wait_for(lambda: browser.find_element(By.ID, "voices").text != "0", 5,
             "the page to show the voice")
    ActionChains(browser).release().perform()
    wait_for(lambda: engine.stats().voices_active == 0, 5, "the release")
    ActionChains(browser).key_down("a").perform()  # A = C4 in the DAW layout
    wait_for(lambda: engine.stats().notes_started == started + 2, 5, "the typed note")
    ActionChains(browser).key_up("a").perform()
    wait_for(lambda: engine.stats().voices_active == 0, 5, "the typed note's release")
    browser.find_element(By.CSS_SELECTOR, 'button[data-send="/panic"]').click()
    assert session.web.stats().bad_messages == 0


def fingers(driver, *names):
    """An ActionBuilder with one touch pointer per name (WebDriver keeps each finger's state
    between `perform` calls, so a test can put fingers down and lift them one at a time)."""
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_actions import PointerActions
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    actions = ActionBuilder(driver, mouse=PointerInput(interaction.POINTER_TOUCH, names[0]))
    return actions, [actions.pointer_action] + [PointerActions(
        actions.add_pointer_input(interaction.POINTER_TOUCH, name)) for name in names[1:]]


def at(element, x, y):
    """Offsets from `element`'s centre for the (x, y) fraction (y up)."""
    size = element.size
    return round((x - 0.5) * size["width"]), round((0.5 - y) * size["height"])


def test_two_fingers_on_the_pad_the_newest_steers_and_lifting_it_hands_back(browser, session):
    import threading

    from selenium.webdriver.common.by import By

    open_page(browser, session)
    pad = browser.find_element(By.ID, "pad")
    path, done = [], threading.Event()

    def watch():  # the server's morph position through the gesture
        while not done.wait(0.02):
            state = session.instrument.state()
            path.append((round(state.x, 2), round(state.y, 2)))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:  # one gesture (WebDriver keeps several touches only within one action list)
        actions, (one, two) = fingers(browser, "one", "two")
        one.move_to(pad, *at(pad, 0.3, 0.35)).pointer_down().pause(0.6)
        two.pause(0).pause(0.6)
        one.pause(0)
        two.move_to(pad, *at(pad, 0.8, 0.75)).pointer_down()
        one.pause(0.6).move_to(pad, *at(pad, 0.2, 0.25)).pause(0.6)  # slides, not steering
        two.pause(0.6).pause(0).pause(0.6)
        one.pause(0).pause(0.6).pointer_up()
        two.pointer_up().pause(0.6).pause(0)
        actions.perform()
        time.sleep(0.3)
    finally:
        done.set()
        watcher.join()
    plateaus = [p for i, p in enumerate(path) if i == 0 or p != path[i - 1]]
    near = lambda p, q: abs(p[0] - q[0]) <= 0.02 and abs(p[1] - q[1]) <= 0.02  # noqa: E731
    stops = [q for q in [(0.3, 0.35), (0.8, 0.75), (0.2, 0.25)]
             if any(near(p, q) for p in plateaus)]
    assert stops == [(0.3, 0.35), (0.8, 0.75), (0.2, 0.25)], plateaus
    first_at = {q: next(i for i, p in enumerate(path) if near(p, q)) for q in stops}
    assert first_at[(0.3, 0.35)] < first_at[(0.8, 0.75)] < first_at[(0.2, 0.25)], plateaus
    held = path[first_at[(0.8, 0.75)]:first_at[(0.2, 0.25)]]
    assert all(near(p, (0.8, 0.75)) for p in held), \
        f"the finger that was not steering moved the morph: {plateaus}"
    assert session.web.stats().bad_messages == 0


def test_sliding_up_a_key_moves_that_notes_own_timbre(browser, session):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    open_page(browser, session)
    engine = session.engine
    voices = engine.renderer.voices
    key = browser.find_element(By.CSS_SELECTOR, '.key[data-pitch="69"]')  # A4, a white key
    other = browser.find_element(By.CSS_SELECTOR, '.key[data-pitch="64"]')
    height = key.size["height"]
    ActionChains(browser).move_to_element(other).click_and_hold().release().perform()
    ActionChains(browser).move_to_element_with_offset(key, 0, round(height * 0.3)) \
        .click_and_hold().perform()
    wait_for(lambda: engine.stats().voices_sounding >= 1 and len(session.instrument.note_ids), 5,
             "the named note")
    ActionChains(browser).move_by_offset(0, -round(height * 0.35)).perform()  # up the key
    playing = lambda: voices.active & (voices.pitch == 69) & (voices.stage < 3)  # noqa: E731
    wait_for(lambda: (voices.expr_dy[playing()] > 0.1).any(), 5,
             "the note's own morph to move up (slide -> y)")
    assert not voices.expressive[voices.active & (voices.pitch == 64)].any()
    ActionChains(browser).release().perform()
    wait_for(lambda: len(session.instrument.note_ids) == 0, 5, "the id to be released")
    wait_for(lambda: engine.stats().voices_active == 0, 5, "the release")
    assert session.web.stats().bad_messages == 0


def test_sustain_all_notes_off_and_panic_do_what_they_say(browser, session):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    open_page(browser, session)
    engine = session.engine
    button = lambda address: browser.find_element(  # noqa: E731
        By.CSS_SELECTOR, f'button[data-send="{address}"]')
    key = browser.find_element(By.CSS_SELECTOR, '.key[data-pitch="69"]')
    sustain = browser.find_element(By.ID, "sustain")
    sustain.click()
    assert sustain.get_attribute("aria-pressed") == "true"
    ActionChains(browser).move_to_element(key).click_and_hold().release().perform()
    wait_for(lambda: engine.stats().notes_started >= 1, 5, "the note")
    time.sleep(0.5)  # time for a wrong release to happen
    assert engine.stats().voices_sounding == 1, "the pedal should hold the released key"
    sustain.click()  # pedal up: the note releases
    wait_for(lambda: engine.stats().voices_active == 0, 10, "the pedal-up release")
    ActionChains(browser).move_to_element(key).click_and_hold().perform()
    wait_for(lambda: engine.stats().voices_sounding == 1, 5, "a held note")
    wait_for(lambda: browser.find_element(By.ID, "level-db").text != "-inf dB", 5,
             "the output level meter to move")
    assert -60.0 < float(browser.find_element(By.ID, "level").get_attribute("value")) <= 0.0
    assert browser.find_element(By.ID, "cpu").text.endswith("%")
    button("/all_notes_off").click()  # the key is still held on screen: the server lets go
    wait_for(lambda: engine.stats().voices_active == 0, 10, "all notes off")
    ActionChains(browser).release().perform()
    sustain.click()
    ActionChains(browser).move_to_element(key).click_and_hold().release().perform()
    wait_for(lambda: engine.stats().voices_sounding == 1, 5, "a sustained note")
    button("/panic").click()
    wait_for(lambda: engine.stats().voices_active == 0, 2, "panic to silence it")
    assert sustain.get_attribute("aria-pressed") == "false"  # panic lifts the pedal too
    wait_for(lambda: float(browser.find_element(By.ID, "level").get_attribute("value")) == -60,
             15, "the meter to fall to the bottom of its scale")
    assert session.web.stats().bad_messages == 0


def test_two_pages_see_each_others_changes(browser, session):
    from selenium.webdriver.common.by import By

    open_page(browser, session)
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    second = browser.current_window_handle
    try:
        open_page(browser, session)
        preset = session.instrument.state().preset
        browser.find_element(By.CSS_SELECTOR, '#preset-bar button[data-send="/preset/next"]'
                             ).click()
        wait_for(lambda: session.instrument.state().preset != preset, 5, "the preset step")
        now = session.instrument.state().preset
        volume = browser.find_element(By.ID, "volume")
        browser.execute_script("arguments[0].value = '0.3'; arguments[0].dispatchEvent("
                               "new Event('input'));", volume)
        wait_for(lambda: abs(session.instrument.state().volume - 0.3) < 1e-6, 5, "the volume")
        browser.switch_to.window(first)
        wait_for(lambda: browser.find_element(By.ID, "preset-name").text == now, 5,
                 "the other page to show the preset")
        wait_for(lambda: surface(browser, "state['/volume'][0]") == 0.3, 5,
                 "the other page to show the volume")
        assert browser.find_element(By.ID, "volume").get_attribute("value") == "0.3"
    finally:
        browser.switch_to.window(second)
        browser.close()
        browser.switch_to.window(first)


@pytest.fixture
def open_session_lan(jack_server, tmp_path, monkeypatch):
    """A session whose surface is bound to every interface: the token is required."""
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    session, out = open_session(tmp_path, preset="duo", midi=False, osc=False,
                                web_host="0.0.0.0", web_port=0)
    session.console_text = out
    yield session
    session.close()


def test_a_page_without_the_token_is_refused_on_a_network_bind(browser, open_session_lan):
    from selenium.webdriver.common.by import By

    session = open_session_lan
    token = session.web.token
    assert token and f"?token={token}" in session.console_text.getvalue()
    browser.get(f"http://127.0.0.1:{session.web.port}/")  # connected via loopback: no token
    banner = browser.find_element(By.ID, "banner")
    wait_for(lambda: banner.is_displayed(), 10, "the refusal banner")
    assert "token" in banner.text and not surface(browser, "connected")
    assert session.web.stats().refused_handshakes >= 1 and session.web.stats().pages == 0
    open_page(browser, session, f"?token={token}")
    assert not browser.find_element(By.ID, "banner").is_displayed()
    browser.find_element(By.CSS_SELECTOR, '.corner[data-corner="2"] button[data-send$="random"]'
                         ).click()  # and it plays: with osc off, the dispatch is the web's own
    wait_for(lambda: session.instrument.state().corners[1].startswith("random "), 10,
             "corner 2 to get a random timbre")


def test_the_preset_browser_lists_presets_with_program_numbers_and_loads_one(browser, session):
    from selenium.webdriver.common.by import By

    open_page(browser, session)
    library = session.instrument.library
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#preset-list .preset")) ==
             len(library.names()), 5, "the preset list")
    rows = {item.get_attribute("data-preset"):
            item.find_element(By.CSS_SELECTOR, ".program").text
            for item in browser.find_elements(By.CSS_SELECTOR, "#preset-list .preset")}
    assert set(rows) == set(library.names()) == {"duo", "fund", "oct"}
    for name, programs in rows.items():
        assert library.program(int(programs.split()[0])) == name  # what a program change loads
    browser.find_element(By.CSS_SELECTOR, '#preset-list .preset[data-preset="oct"]').click()
    wait_for(lambda: session.instrument.state().preset == "oct", 5, "the tapped preset to load")
    wait_for(lambda: "current" in browser.find_element(
        By.CSS_SELECTOR, '#preset-list .preset[data-preset="oct"]').get_attribute("class"), 5)
    picker = browser.find_element(By.CSS_SELECTOR, 'select.pick[data-corner="1"]')
    from selenium.webdriver.support.ui import Select
    Select(picker).select_by_value("fund")  # a corner's own preset list
    wait_for(lambda: session.instrument.state().corners[0] == "fund", 5, "corner 1's preset")
    browser.find_element(By.ID, "save-name").send_keys("from the page")
    browser.find_element(By.ID, "save").click()
    saved = Path(os.environ["GANSYNTH_LIVE_DATA_DIR"]) / "presets" / "from the page.json"
    wait_for(saved.exists, 5, "the saved preset")
    wait_for(lambda: browser.find_elements(
        By.CSS_SELECTOR, '#preset-list .preset[data-preset="from the page"]'), 8,
        "the browser to list the saved preset")


def tones_map(monkeypatch):
    """The tone model has no quality measurements: give it a map of its own presets."""
    monkeypatch.setattr("gansynth_live.web.timbre_map.shipped_maps", lambda: [
        {"model": "tones", "measure": "test", "points": [
            {"name": "fund", "x": 0.2, "y": 0.3}, {"name": "oct", "x": 0.8, "y": 0.7},
            {"name": "not a preset", "x": 0.5, "y": 0.5}]}])


def test_a_map_point_dragged_onto_a_corner_sets_it_and_a_tap_loads_it(browser, session,
                                                                       monkeypatch):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.by import By

    tones_map(monkeypatch)
    open_page(browser, session)
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, '#map .point[data-name="oct"]'), 5,
             "the map")
    assert not browser.find_elements(By.CSS_SELECTOR, '#map .point.preset[data-name="not a preset"]')
    assert session.instrument.state().corners[0] == "fund"
    point = browser.find_element(By.CSS_SELECTOR, '#map .point[data-name="oct"]')
    pad = browser.find_element(By.ID, "pad")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
    actions = ActionBuilder(browser)
    pointer = actions.pointer_action
    pointer.move_to(point).pointer_down()
    pointer.move_to(point, 20, 0)
    size = pad.size  # corner 1 is the pad's bottom-left quadrant
    pointer.move_to(pad, -size["width"] // 4, size["height"] // 4)
    pointer.pointer_up()
    actions.perform()
    wait_for(lambda: session.instrument.state().corners[0] == "oct", 5,
             "corner 1 to take the dragged preset")
    ActionChains(browser).click(
        browser.find_element(By.CSS_SELECTOR, '#map .point[data-name="fund"]')).perform()
    wait_for(lambda: session.instrument.state().preset == "fund", 5, "the tapped point to load")


def test_the_map_says_when_the_model_has_no_measurements(browser, session):
    from selenium.webdriver.common.by import By

    open_page(browser, session)  # the tone model: no quality report
    text = browser.find_element(By.ID, "map-text")
    wait_for(lambda: "no timbre measurements" in text.text, 5, "the map's explanation")
    assert not browser.find_elements(By.CSS_SELECTOR, "#map .point")


def test_rec_learn_and_the_envelope_faders_reach_the_server(browser, session):
    from selenium.webdriver.common.by import By

    open_page(browser, session)
    rec = browser.find_element(By.ID, "rec")
    rec.click()
    wait_for(lambda: session.instrument.state().recording, 5, "a take to start")
    wait_for(lambda: browser.find_element(By.ID, "rec-time").text.startswith("0:0") and
             "on" in rec.get_attribute("class"), 5, "the page to show the take's time")
    rec.click()
    wait_for(lambda: not session.instrument.state().recording, 5, "the take to stop")
    browser.find_element(By.ID, "learn-x").click()
    wait_for(lambda: session.instrument.state().learning == "x", 5, "MIDI learn for x")
    wait_for(lambda: "controller for x" in browser.find_element(By.ID, "learn-text").text, 5)
    browser.find_element(By.ID, "learn-cancel").click()
    wait_for(lambda: session.instrument.state().learning == "", 5, "MIDI learn cancelled")
    attack = browser.find_element(By.CSS_SELECTOR, 'input[data-address="/envelope/attack"]')
    browser.execute_script("arguments[0].value = '0.5'; arguments[0].dispatchEvent("
                           "new Event('input'));", attack)
    expected = 0.001 + (10.0 - 0.001) * 0.5 ** 3  # the TouchOSC layout's cubic time curve
    wait_for(lambda: abs(session.instrument.state().envelope.attack_s - expected) < 1e-3, 5,
             "the server's attack")
    session.instrument.set_envelope(release_s=0.4)  # as TouchOSC would: the fader follows
    release = browser.find_element(By.CSS_SELECTOR, 'input[data-address="/envelope/release"]')
    wait_for(lambda: abs(float(release.get_attribute("value")) - (0.399 / 29.999) ** (1 / 3))
             < 2e-3, 5, "the release fader to follow")
    assert session.web.stats().bad_messages == 0


PHONE = (390, 844)  # CSS pixels, upright


@pytest.fixture(scope="module")
def phone(tmp_path_factory):
    """A Chromium posing as a phone held upright: a 390x844 mobile viewport with touch."""
    driver = chromium(tmp_path_factory.mktemp("phone-profile"), *PHONE)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True})
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True,
                                                                  "maxTouchPoints": 5})
    yield driver
    driver.quit()


def touch_at(driver, element, x, y, hold_s=0.0):
    """One finger down at the (x, y) fraction of `element` (y up), held, lifted."""
    actions, (finger,) = fingers(driver, "finger")
    finger.move_to(element, *at(element, x, y)).pointer_down()
    if hold_s:
        finger.pause(hold_s)
    finger.pointer_up()
    actions.perform()


class watch_while:
    """Samples `read()` every 20 ms in a thread while the `with` block runs (`.values`)."""

    def __init__(self, read):
        import threading

        self.read, self.values, self.done = read, [], threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        while not self.done.wait(0.02):
            self.values.append(self.read())

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def in_view(driver, element):
    """Whether all of `element` lies inside the viewport as it stands (no scrolling)."""
    return driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.width > 0 && r.height > 0 && "
        "r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight;", element)


def test_a_phone_alone_plays_morphs_and_switches_presets(phone, session, monkeypatch):
    """Issue 17's 'done when': a phone upright, touch only (no mouse, no computer keyboard)."""
    from selenium.webdriver.common.by import By

    open_page(phone, session)
    assert phone.execute_script("return [innerWidth, innerHeight, navigator.maxTouchPoints]"
                                ) == [PHONE[0], PHONE[1], 5]
    phone.execute_script("window.pointerTypes = []; addEventListener('pointerdown', "
                         "(e) => pointerTypes.push(e.pointerType), true);")
    assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE[0], \
        "the page is wider than the phone"
    pad = phone.find_element(By.ID, "pad")
    keyboard = phone.find_element(By.ID, "keyboard")
    next_preset = phone.find_element(By.CSS_SELECTOR,
                                     '#preset-bar button[data-send="/preset/next"]')
    for element in (pad, keyboard, next_preset):  # what plays it is on the first screen
        assert in_view(phone, element), element.get_attribute("id") or "next preset"
    assert len(phone.find_elements(By.CSS_SELECTOR, "#keyboard .key")) == 13  # one octave

    # morph: a finger drags across the pad
    actions, (finger,) = fingers(phone, "finger")
    finger.move_to(pad, *at(pad, 0.2, 0.8)).pointer_down()
    for x, y in ((0.4, 0.6), (0.6, 0.4), (0.75, 0.3)):
        finger.move_to(pad, *at(pad, x, y))
    finger.pointer_up()
    actions.perform()
    wait_for(lambda: abs(session.instrument.state().x - 0.75) < 0.02 and
             abs(session.instrument.state().y - 0.3) < 0.02, 5, "the server's morph to move")

    # play: two touches on A4, high on the key and near its front edge
    heard, voices = [], session.engine.renderer.voices
    curve = session.engine.config.velocity_curve
    assert curve > 0  # else velocity would not reach the sound
    mnote = session.instrument.mnote

    def recorded(pitch, velocity, note_id=None):  # what the OSC dispatch hands the instrument
        heard.append((pitch, velocity))
        return mnote(pitch, velocity, note_id)

    monkeypatch.setattr(session.instrument, "mnote", recorded)
    key = phone.find_element(By.CSS_SELECTOR, '.key[data-pitch="69"]')
    gains = []
    for y in (0.8, 0.15):  # 20 % and 85 % of the way down the key (the front edge is louder)
        started = session.engine.stats().notes_started
        seen = watch_while(lambda: voices.gain[voices.active & (voices.pitch == 69) &
                                               (voices.stage < 3)].tolist())
        with seen:  # one action list: chromedriver lifts a touch when its list ends
            actions, (finger,) = fingers(phone, "finger")
            finger.move_to(key, *at(key, 0.5, y)).pointer_down().pause(0.8).pointer_up()
            actions.perform()
        assert session.engine.stats().notes_started == started + 1
        sounding = {tuple(g) for g in seen.values if g}
        assert len(sounding) == 1, sounding  # one voice, its gain set once
        gains.append(sounding.pop()[0])
        wait_for(lambda: session.engine.stats().voices_active == 0, 5, "the release")
    soft, loud = (v for _, v in heard)
    assert [p for p, _ in heard] == [69, 69]
    assert abs(soft - (20 + 107 * 0.2)) <= 2 and abs(loud - (20 + 107 * 0.85)) <= 2, heard
    assert gains == pytest.approx([(soft / 127) ** curve, (loud / 127) ** curve], rel=1e-6)
    assert gains[1] > 2 * gains[0]

    # switch presets: the header's next, a corner's next, a tap in the preset list
    preset = session.instrument.state().preset
    assert preset == "duo"
    corner_1 = session.instrument.state().corners[0]
    touch_at(phone, phone.find_element(By.CSS_SELECTOR,
                                       '.corner[data-corner="1"] button[data-send$="next"]'),
             0.5, 0.5)
    wait_for(lambda: session.instrument.state().corners[0] != corner_1, 5, "corner 1 to step")
    wait_for(lambda: phone.find_element(By.ID, "corner-1-name").text ==
             session.instrument.state().corners[0], 5, "the corner's label")
    touch_at(phone, next_preset, 0.5, 0.5)
    wait_for(lambda: session.instrument.state().preset != preset, 5, "the next preset")
    wait_for(lambda: phone.find_element(By.ID, "preset-name").text ==
             session.instrument.state().preset, 5, "the header to show it")
    item = phone.find_element(By.CSS_SELECTOR, '#preset-list .preset[data-preset="oct"]')
    if session.instrument.state().preset == "oct":
        item = phone.find_element(By.CSS_SELECTOR, '#preset-list .preset[data-preset="fund"]')
    wanted = item.get_attribute("data-preset")
    phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", item)
    assert in_view(phone, item) and in_view(phone, keyboard)  # the keys stay while scrolling
    touch_at(phone, item, 0.5, 0.5)
    wait_for(lambda: session.instrument.state().preset == wanted, 5, "the tapped preset")
    types = phone.execute_script("return pointerTypes")
    assert len(types) >= 6 and set(types) == {"touch"}, types
    assert session.web.stats().bad_messages == 0


def test_osc_and_the_page_see_each_others_changes(browser, session):
    from osc_peer import OscPeer
    from selenium.webdriver.common.by import By

    open_page(browser, session)
    peer = OscPeer(session.osc.port)  # a TouchOSC on this machine
    try:
        peer.send("/register")
        assert dict(peer.receive())["/preset/name"] == ["duo"]
        peer.send("/morph/xy", 0.15, 0.85)
        peer.send("/volume", 0.25)
        cursor = browser.find_element(By.ID, "cursor")
        wait_for(lambda: abs(float(cursor.get_attribute("data-x")) - 0.15) < 1e-6 and
                 abs(float(cursor.get_attribute("data-y")) - 0.85) < 1e-6, 5,
                 "the page's cursor to follow OSC")
        wait_for(lambda: browser.find_element(By.ID, "volume-value").text == "0.25", 5,
                 "the page's volume to follow OSC")
        peer.receive(0.3)  # (its own changes echoed back)
        browser.find_element(By.CSS_SELECTOR, '#preset-list .preset[data-preset="oct"]').click()
        volume = browser.find_element(By.ID, "volume")
        browser.execute_script("arguments[0].value = '0.6'; arguments[0].dispatchEvent("
                               "new Event('input'));", volume)
        pad = browser.find_element(By.ID, "pad")
        drag(browser, pad, [(0.5, 0.5), (0.7, 0.2)])
        got: dict = {}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (
                got.get("/preset/name") == ["oct"] and got.get("/volume") == pytest.approx([0.6])
                and got.get("/morph/xy") == pytest.approx([0.7, 0.2], abs=0.02)):
            got.update(dict(peer.receive(0.2)))
        assert got.get("/preset/name") == ["oct"], got
        assert got.get("/volume") == pytest.approx([0.6]), got
        assert got.get("/morph/xy") == pytest.approx([0.7, 0.2], abs=0.02), got
    finally:
        peer.close()
    assert session.osc.stats().bad_total == 0 and session.web.stats().bad_messages == 0


def default_map(monkeypatch):
    """The default model's shipped map, served for the tone model (it has none of its own)."""
    from gansynth_live.web import timbre_map

    shipped = timbre_map.shipped_maps()[0]
    monkeypatch.setattr(timbre_map, "shipped_maps", lambda: [{**shipped, "model": "tones"}])
    return shipped


LABELS = """return [...document.querySelectorAll('#map .point')].map((dot) => {
  const r = dot.getBoundingClientRect(), l = dot.firstElementChild.getBoundingClientRect();
  const shown = getComputedStyle(dot.firstElementChild).display !== 'none';
  return {name: dot.dataset.name, shown, dot: [r.left, r.top, r.right, r.bottom],
          label: [l.left, l.top, l.right, l.bottom]};
}).concat([(({left, top, right, bottom}) => ({map: [left, top, right, bottom]}))(
  document.getElementById('map').getBoundingClientRect())]);"""


@pytest.mark.parametrize("view", ["laptop", "phone"])
def test_the_map_s_labels_do_not_cover_each_other(view, browser, phone, session, monkeypatch):
    driver = browser if view == "laptop" else phone
    shipped = default_map(monkeypatch)
    if view == "laptop":
        driver.set_window_size(1280, 800)
    open_page(driver, session)
    wait_for(lambda: len(driver.find_elements("css selector", "#map .point")) ==
             len(shipped["points"]), 5, "the map")
    driver.execute_script("document.getElementById('map').scrollIntoView()")
    time.sleep(0.3)  # (placed again 0.1 s after the box changes size)
    *points, frame = driver.execute_script(LABELS)
    left, top, right, bottom = frame["map"]
    shown = [p for p in points if p["shown"]]
    overlap = lambda a, b: a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and \
        a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5  # noqa: E731
    for i, p in enumerate(shown):
        assert left - 1 <= p["label"][0] and p["label"][2] <= right + 1 and \
            top - 1 <= p["label"][1] and p["label"][3] <= bottom + 1, (p, frame)
        for q in shown[i + 1:]:
            assert not overlap(p["label"], q["label"]), (p["name"], q["name"])
        for q in points:
            assert q is p or not overlap(p["label"], q["dot"]), (p["name"], "covers", q["name"])
    assert len(shown) >= len(points) * (0.8 if view == "laptop" else 0.6), \
        f"{len(shown)} of {len(points)} labels shown"
