"""Headless Chromium driven by Selenium, and the sandbox page as a person uses it.

Selenium and Chromium are only needed for the browser walk (the test extra, and Debian's
chromium and chromium-driver); the driver is given as a Service so Selenium never
downloads one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--lang=en-GB",
)


class BrowserMissing(RuntimeError):
    """No Chromium or chromedriver (or no Selenium) on this machine."""


class TourFailed(AssertionError):
    """The page did not show what the procedure step should have produced."""


def browser_problem() -> str | None:
    """Why the browser walk cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "Selenium is not installed (pip install -e '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (apt-get install -y {package})"
    return None


class Page:
    """The sandbox page as a person uses it, with waits on what the page shows."""

    def __init__(self, driver: Any, url: str, shots: Path) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.d = driver
        self.url = url
        self.shots = shots
        self.wait = WebDriverWait(driver, 30, poll_frequency=0.1)

    # -- finding ----------------------------------------------------------------------------

    def css(self, sel: str, root: Any = None) -> Any:
        from selenium.webdriver.common.by import By

        return (root or self.d).find_element(By.CSS_SELECTOR, sel)

    def all(self, sel: str, root: Any = None) -> list[Any]:
        from selenium.webdriver.common.by import By

        return (root or self.d).find_elements(By.CSS_SELECTOR, sel)

    def until(self, what: str, check: Callable[[], Any]) -> Any:
        from selenium.common.exceptions import (
            ElementClickInterceptedException,
            StaleElementReferenceException,
            TimeoutException,
        )

        def probe(_: Any) -> Any:
            try:
                return check()
            except (
                StaleElementReferenceException,
                ElementClickInterceptedException,
                LookupError,
            ):
                return None

        try:
            return self.wait.until(probe)
        except TimeoutException:
            raise TourFailed(f"the page never showed {what}") from None

    def click(self, what: str, find: Callable[[], Any]) -> None:
        """Click what `find` finds; the page re-renders as it polls, so an element found a
        moment ago may be gone: find it again."""

        def attempt() -> bool:
            find().click()
            return True

        self.until(what, attempt)

    # -- acting -----------------------------------------------------------------------------

    def open(self, user: str) -> None:
        self.d.get(f"{self.url}/?user={user}")
        self.until("the sandbox note", lambda: "Local sandbox" in self.css("#sandbox-note").text)

    def as_person(self, user: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.css("#person")).select_by_value(user)
        self.until(f"{user}'s view", lambda: self.d.execute_script("return S.user") == user)

    def channel(self, channel_id: str) -> None:
        self.click(channel_id, lambda: self.css(f'#sidebar a[data-channel="{channel_id}"]'))
        self.until(f"channel {channel_id}", lambda: "active" in self._link(channel_id))

    def _link(self, channel_id: str) -> str:
        return self.css(f'#sidebar a[data-channel="{channel_id}"]').get_attribute("class") or ""

    def type_in_channel(self, text: str) -> None:
        box = self.css("#composer-input")
        box.clear()
        box.send_keys(text)
        self.css("#composer button").click()

    def modal_title(self) -> str:
        if self.css("#modal-backdrop").get_attribute("hidden") is not None:
            return ""
        return str(self.css("#modal-title").text)

    def fill(self, answers: dict[str, Any]) -> None:
        """Fill the open modal's inputs like a person: type, pick, tick, choose files."""
        from selenium.webdriver.support.ui import Select

        for block_id, value in answers.items():
            box = self.css(f'#modal-blocks .bk-input[data-block-id="{block_id}"]')
            kind = box.get_attribute("data-type")
            if kind in ("plain_text_input", "number_input"):
                field = self.css("input, textarea", box)
                field.clear()
                field.send_keys(value)
            elif kind in ("static_select", "users_select"):
                Select(self.css("select", box)).select_by_value(value)
            elif kind == "multi_static_select":
                sel = Select(self.css("select", box))
                sel.deselect_all()
                for v in value:
                    sel.select_by_value(v)
            elif kind in ("radio_buttons", "checkboxes"):
                for v in [value] if isinstance(value, str) else value:
                    self.css(f'input[value="{v}"]', box).click()
            elif kind == "datepicker":  # typing into a date field depends on the locale
                self.d.execute_script(
                    "arguments[0].value = arguments[1]", self.css("input", box), value
                )
            elif kind == "file_input":
                self.css("input", box).send_keys("\n".join(str(p) for p in value))
            elif kind == "external_select":  # type, wait for the app's options, pick one
                self._pick_external(box, value)
            else:
                raise TourFailed(f"cannot fill a {kind} input")

    def _pick_external(self, box: Any, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        field = self.css("input", box)
        field.clear()
        field.send_keys(value)
        pick = Select(self.css("select.external-options", box))

        def offered() -> str | None:
            for o in pick.options:
                raw = o.get_attribute("value")
                if raw and json.loads(raw).get("value") == value:
                    return raw
            return None

        pick.select_by_value(self.until(f"the option {value!r}", offered))

    def submit(self) -> None:
        self.css("#modal-submit").click()

    def card(self, ref: str) -> Any:
        for msg in self.all("#messages .msg"):
            headers = self.all(".bk-header", msg)
            if headers and headers[0].text.startswith(ref):
                return msg
        raise LookupError(ref)

    def field(self, ref: str, label: str) -> str:
        for f in self.all(".bk-field", self.card(ref)):
            head, _, rest = f.text.partition("\n")
            if head == label:
                return rest
        raise LookupError(label)

    def buttons(self, ref: str) -> list[str]:
        return [
            b.get_attribute("data-action-id")
            for b in self.all(".bk-actions button", self.card(ref))
        ]

    def press(self, ref: str, step: str, *, confirm: str | None = None) -> None:
        sel = f'.bk-actions button[data-action-id="step:{step}"]'
        self.click(f"the {step} button", lambda: self.css(sel, self.card(ref)))
        if confirm is not None:
            title = self.until(
                "the confirm dialog",
                lambda: (
                    self.css("#confirm-backdrop").get_attribute("hidden") is None
                    and self.css("#confirm-title").text
                ),
            )
            if title != confirm:
                raise TourFailed(f"confirm dialog says {title!r}, expected {confirm!r}")
            self.css("#confirm-yes").click()

    def shot(self, name: str, element: Any = None) -> Path:
        path = self.shots / name
        (element or self.d).screenshot(
            str(path)
        ) if element is not None else self.d.save_screenshot(str(path))
        return path


def make_driver(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
