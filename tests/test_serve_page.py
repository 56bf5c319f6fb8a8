"""The radiologist's page at `/`, driven in a real headless Chromium (Debian's `chromium`
package via Playwright's `executable_path`; the Playwright CDN browsers cannot be downloaded).
The page is served under its Content-Security-Policy (no eval), so the tests wait on locators,
not on `wait_for_function` predicates (Playwright evaluates those with eval).

The model is `ScriptedLlama` (tests/scripted_model.py): a real transformers Llama whose greedy
output is forced to a planted text, so the draft honestly contains a statement the findings do
not support ("Right lower lobe pneumonia." for a head CT), and the test can check that the page
highlights exactly that. Everything else (server, batcher, streaming, flags) is the real code.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
from scripted_model import scripted_model

from radllama.core.artifacts import RunRecord
from radllama.serving.app import create_app
from radllama.serving.engine import ServingEngine
from radllama.serving.server import ServeConfig, build_app, start_in_thread

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "docs" / "serve_page.png"
EXAM = "CT HEAD W/O"
FINDINGS = (
    "There is an acute subdural hematoma along the left convexity measuring 8 mm with 3 mm of "
    "midline shift. No skull fracture."
)
PLANTED = "Acute left subdural hematoma with 3 mm midline shift. Right lower lobe pneumonia."


def _browser_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    path = os.environ.get("RADLLAMA_CHROMIUM") or _browser_path()
    if path is None:
        pytest.skip("no Chromium found: apt-get install -y chromium (what .ci/run does)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def planted_model(tiny_model_dir, tiny_data_dir):
    model = scripted_model(tiny_model_dir, PLANTED)
    model.name = "scripted-test-model"
    # The run record's training data: where the page's exam code suggestions come from.
    model.run = RunRecord(method="full", data={"dir": str(tiny_data_dir)})
    return model


def test_page_streams_the_draft_and_highlights_the_unsupported_statement(
    browser, planted_model, caplog, tmp_path
):
    caplog.set_level(logging.INFO, logger="radllama.serving")
    app = build_app(planted_model, ServeConfig(batch_wait_ms=0))
    with start_in_thread(app) as server:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(server.root_url + "/")
        page.locator("#model", has_text="scripted").wait_for()
        assert page.locator("#key-row").is_hidden()  # this server needs no key
        codes = page.eval_on_selector_all("#exam-codes option", "els => els.map(e => e.value)")
        assert EXAM in codes and "XR CHEST 2V" in codes  # exam codes of the training data

        # Record every state of the draft while it streams in.
        page.evaluate(
            """() => { window.draftStates = [];
              new MutationObserver(() => window.draftStates.push(
                document.querySelector('#draft').textContent)).observe(
                document.querySelector('#draft'), {childList: true, subtree: true,
                characterData: true}); }"""
        )
        # Keyboard only: type into the exam field, Tab to the findings, Ctrl+Enter.
        page.focus("#exam")
        page.keyboard.type(EXAM)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "findings"
        page.keyboard.type(FINDINGS)
        page.keyboard.press("Control+Enter")

        flag = page.locator("#draft mark.flag")
        flag.wait_for(timeout=60_000)
        assert flag.count() == 1
        assert flag.inner_text() == "Right lower lobe pneumonia"
        assert "Not mentioned in the findings" in flag.get_attribute("data-reason")
        assert page.locator("#draft").inner_text().strip() == PLANTED
        states = page.evaluate("window.draftStates")
        partial = {s for s in states if s and s != PLANTED}
        assert len(partial) >= 3, states  # the draft grew piece by piece (streamed)
        assert all(PLANTED.startswith(s) for s in partial)
        assert "pneumonia" in page.locator("#flags").inner_text()
        assert "scripted-test-model" in page.locator("#timing").inner_text()
        assert "first words" in page.locator("#timing").inner_text()

        # The screenshot the README shows, with the flag's reason on hover.
        flag.hover()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert SCREENSHOT.stat().st_size > 10_000

        # The draft is editable, and Copy puts the edited text on the clipboard.
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.mouse.move(0, 0)
        page.focus("#draft")
        page.keyboard.press("Control+End")
        page.keyboard.type(" Edited.")
        page.click("#copy")
        page.locator("#status", has_text="copied").wait_for()
        clipboard = page.evaluate("navigator.clipboard.readText()")
        assert clipboard.endswith("Edited.") and clipboard.startswith("Acute left subdural")

        # Report text never in browser storage or the URL; not in the server log either.
        assert page.evaluate("localStorage.length + sessionStorage.length") == 0
        assert page.evaluate("document.cookie") == ""
        assert page.url == server.root_url + "/"
        log = "\n".join(record.getMessage() for record in caplog.records)
        assert "subdural" not in log and "pneumonia" not in log and "request id=" in log

        # Readable at laptop width: one column, no horizontal scrolling.
        page.set_viewport_size({"width": 1024, "height": 700})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(tmp_path / "laptop.png"))  # to look at by hand; not kept
        page.close()


def test_page_explains_server_errors_in_plain_words(browser, planted_model, monkeypatch):
    monkeypatch.setenv("RADLLAMA_PAGE_KEY", "s3cret")
    config = ServeConfig(
        api_key_env="RADLLAMA_PAGE_KEY", max_body_bytes=4096, request_timeout_s=1, batch_wait_ms=0
    )
    app = build_app(planted_model, config)
    with start_in_thread(app) as server:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(server.root_url + "/")
        page.locator("#key-row").wait_for()  # the server requires a key: the field is shown
        page.fill("#findings", FINDINGS)

        def generate_and_read_status() -> str:
            page.click("#generate")
            page.locator("#generate:enabled").wait_for()
            return page.locator("#status").inner_text()

        assert "needs an access key" in generate_and_read_status()  # 401
        page.fill("#api-key", "s3cret")
        page.fill("#findings", FINDINGS * 40)  # > 4096 bytes
        assert "too long" in generate_and_read_status()  # 413
        page.fill("#findings", FINDINGS)
        app.state.batcher.pause()  # the model is busy: the request times out -> 503
        busy = generate_and_read_status()
        assert "busy" in busy and "Try again in" in busy, busy
        app.state.batcher.resume()
        assert "statement" in generate_and_read_status()  # works again, with the flag count
        assert page.locator("#draft mark.flag").count() == 1
        codes = page.eval_on_selector_all("#exam-codes option", "els => els.map(e => e.value)")
        assert EXAM in codes  # loaded once the key was entered
        page.close()


class _WithPriors(ServingEngine):
    """Adds `retrieved` cases (the retrieval branch's shape) to every /v1/impressions answer."""

    def impression_response(self, *args, **kwargs) -> dict:
        response = super().impression_response(*args, **kwargs)
        response["retrieved"] = [
            {"row_id": 7, "similarity": 0.91, "impression": "Acute left subdural hematoma."},
            {"row_id": 12, "similarity": 0.84, "impression": "No acute intracranial abnormality."},
        ]
        return response


def test_page_lists_similar_prior_cases_when_the_answer_has_them(browser, planted_model, tmp_path):
    app = create_app(_WithPriors(planted_model, ServeConfig(batch_wait_ms=0)))
    with start_in_thread(app) as server:
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.goto(server.root_url + "/")
        assert page.locator("#priors-box").is_hidden()
        page.fill("#findings", FINDINGS)
        page.click("#generate")
        page.locator("#priors li").first.wait_for(timeout=60_000)
        priors = page.locator("#priors li").all_inner_texts()
        assert len(priors) == 2
        assert "Acute left subdural hematoma." in priors[0] and "similarity 0.91" in priors[0]
        # Three columns at a wide monitor: the cases sit beside the draft, not below it.
        box, draft = (
            page.locator("#priors-box").bounding_box(),
            page.locator("#draft").bounding_box(),
        )
        assert box["x"] > draft["x"] + draft["width"] and abs(box["y"] - draft["y"]) < 200
        page.screenshot(path=str(tmp_path / "priors.png"))  # to look at by hand; not kept
        page.close()


# Issue 20: drafts that broke the old string-replace highlighting. The first repeats a flagged
# sentence inside an earlier one (it matched inside the first <mark>'s attribute); the second
# holds String.replace's patterns `$&` (the match), `$'` (after it) and `` $` `` (before it).
TRICKY_DRAFTS = [
    "Right lower lobe pneumonia with effusion. Right lower lobe pneumonia.",
    "Acute left subdural hematoma. Right lower lobe pneumonia $& with $' and $` noted <b>x</b>.",
]


@pytest.mark.parametrize("draft", TRICKY_DRAFTS, ids=["repeated-sentence", "dollar-patterns"])
def test_copy_and_the_editable_draft_hold_exactly_the_models_text(browser, tiny_model_dir, draft):
    model = scripted_model(tiny_model_dir, draft)
    app = build_app(model, ServeConfig(batch_wait_ms=0))
    with start_in_thread(app) as server:
        page = browser.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.goto(server.root_url + "/")
        page.fill("#findings", FINDINGS)
        page.click("#generate")
        page.locator("#copy:enabled").wait_for(timeout=60_000)
        draft_box = page.locator("#draft")
        assert draft_box.evaluate("el => el.textContent") == draft
        assert draft_box.inner_text() == draft
        # Only <mark> elements inside the draft, each holding one whole flagged sentence.
        tags = draft_box.evaluate("el => [...el.querySelectorAll('*')].map(n => n.tagName)")
        assert set(tags) == {"MARK"}
        marks = page.locator("#draft mark.flag").all_inner_texts()
        if draft.startswith("Right"):
            assert marks == [
                "Right lower lobe pneumonia with effusion",
                "Right lower lobe pneumonia",
            ]
        else:
            assert marks == ["Right lower lobe pneumonia $& with $' and $` noted <b>x</b>"]
        page.click("#copy")
        page.locator("#status", has_text="copied").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == draft
        # The page works under its Content-Security-Policy (issue 20): nothing it does is blocked.
        assert not [text for text in console if "Content Security Policy" in text], console
        page.close()
