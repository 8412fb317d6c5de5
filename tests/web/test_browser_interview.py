"""The web app end to end in real Chromium, on the whole stack (tests/web/stack.py): livekit-server, the
control plane serving web/dist, the interviewer agent and the summary worker. One stack for the module.

- A person signs up, confirms through the emailed link, signs in, creates and starts an interview, hears
  the greeting, answers, sees both sides of the transcript, ends it and reads the (statistics) scorecard.
- LiveKit's stock React hooks and components alone (tests/browser/stock/) join the same kind of interview.
- The connection drops in the middle of an interview and comes back: the banner comes and goes, and the
  interview goes on.
Every page is checked with axe-core and photographed at desktop and phone width (test-artifacts/browser/).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.agent.audio import word_error_rate
from tests.support.mailbox import Mailbox
from tests.web.chromium import (
    Auditor,
    FakeMicrophone,
    NetworkDrop,
    in_order,
    launch,
    new_page,
    record,
    states,
    unique_email,
    wait_until,
)
from tests.web.stack import BROWSER_DIR, WebStack, serve_directory, start_stack, static_port

pytestmark = [pytest.mark.netns, pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
ANSWER = "Yes, I am ready to begin the interview."
SECOND_ANSWER = "I would add an index on the customer column."
# The interviewer's turns take a while on two busy cores: speech synthesis, then real-time playout.
TURN_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def stock_port() -> int:
    return static_port()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, mailbox: Mailbox, stock_port: int
) -> Iterator[WebStack]:
    web = start_stack(
        tmp_path_factory.mktemp("web-stack"), agent=True, cors_origins=(f"http://127.0.0.1:{stock_port}",)
    )
    try:
        yield web
    finally:
        web.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> FakeMicrophone:
    return FakeMicrophone(tmp_path_factory.mktemp("microphone") / "microphone.wav")


@pytest.fixture(scope="module")
def browser(playwright: Playwright, stack: WebStack, microphone: FakeMicrophone) -> Iterator[Browser]:
    chromium = launch(playwright, stack.lk, stack.workdir, microphone)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser, microphone: FakeMicrophone) -> Iterator[Page]:
    microphone.silence()
    page = new_page(browser)
    yield page
    page.context.close()


def sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def wait_for_greeting(page: Page) -> None:
    """The interviewer spoke and now listens (its first turn, the greeting, is over)."""
    page.wait_for_function(
        """() => { const s = window.__cv.states.map((e) => e.state);
                   return s.includes('speaking') && s[s.length - 1] === 'listening'; }""",
        timeout=TURN_TIMEOUT_MS,
    )


def answer(page: Page, microphone: FakeMicrophone, text: str) -> None:
    """Say `text`: the fake microphone gets the words, and the candidate picks another microphone, which
    opens it again (LiveKit restarts the published track on the new device)."""
    microphone.say(text)
    select = page.get_by_label("Microphone", exact=True)
    current = select.input_value()
    options = select.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
    select.select_option(next(value for value in options if value != current))


def candidate_lines(page: Page) -> list[str]:
    lines = page.locator('[data-testid="transcript-line"][data-speaker="candidate"]:not(.interim)')
    return [text.split(":", 1)[1].strip() for text in lines.all_inner_texts()]


def test_a_whole_interview_from_sign_up_to_scorecard(
    stack: WebStack, page: Page, microphone: FakeMicrophone, mailbox: Mailbox
) -> None:
    audit = Auditor("interview")
    email = unique_email("candidate")

    # Sign up; the confirmation email arrives at the SMTP server; its link confirms the address.
    page.goto(stack.base_url + "/")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2F$"))
    audit(page, "sign-in")
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    audit(page, "sign-up")
    page.get_by_label("Your name").fill("Ada Candidate")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("sign-up-sent")).to_be_visible()
    audit(page, "sign-up-sent")
    body = Mailbox.body(mailbox.wait_for(email)[0])
    link = re.search(re.escape(stack.base_url) + r"/confirm-email\?token=\S+", body)
    assert link, body
    page.goto(link.group(0))
    expect(page.get_by_test_id("confirm-done")).to_contain_text(email)
    audit(page, "confirm-email")

    # Sign in, create the interview.
    page.get_by_role("link", name="Sign in").last.click()
    sign_in(page, email, PASSWORD)
    expect(page.get_by_role("heading", name="Start an interview")).to_be_visible()
    expect(page.get_by_text("Hello, Ada Candidate")).to_be_visible()
    audit(page, "new-interview")
    page.get_by_label("Role").fill("Backend Engineer")
    page.get_by_label("Level").select_option("senior")
    page.get_by_label("Topics").fill("Python, SQL")
    page.get_by_label("Length (minutes)").fill("15")
    page.get_by_role("button", name="Create interview").click()
    expect(page).to_have_url(re.compile(r"/interviews/[0-9a-f-]{36}$"))
    session_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_test_id("prejoin")).to_be_visible()
    expect(page.get_by_test_id("join")).to_be_enabled()
    audit(page, "prejoin")

    # Join: the greeting plays as sound in the page; the interviewer goes from speaking to listening.
    page.get_by_test_id("join").click()
    expect(page.get_by_test_id("live-interview")).to_be_visible()
    wait_for_greeting(page)
    audio = record(page)["audio"]
    assert audio["peak"] > 0.02, f"greeting not heard in the page: {audio}"
    assert audio["loudMs"] >= 1000, f"greeting too short in the page: {audio}"
    expect(
        page.locator('[data-testid="transcript-line"][data-speaker="interviewer"]').first
    ).not_to_be_empty()
    audit(page, "live-interview")
    # The status badge follows the server: the interviewer has joined, so the session is live.
    expect(page.get_by_test_id("interview")).to_have_attribute("data-status", "live", timeout=15_000)
    expect(page.get_by_test_id("session-status")).to_have_text("In progress")

    # Answer: the words appear as the candidate's line, then the interviewer thinks and speaks again.
    before = len(states(page))
    answer(page, microphone, ANSWER)
    wait_until(lambda: candidate_lines(page), TURN_TIMEOUT_MS / 1000, "the candidate's words")
    heard = " ".join(candidate_lines(page))
    assert word_error_rate(ANSWER, heard) <= 0.4, heard
    page.wait_for_function(
        f"""() => {{ const s = window.__cv.states.slice({before}).map((e) => e.state);
                    const t = s.indexOf('thinking'); return t >= 0 && s.indexOf('speaking', t) > t; }}""",
        timeout=TURN_TIMEOUT_MS,
    )
    seen = states(page)
    assert in_order(seen, "speaking", "listening", "thinking", "speaking"), seen
    # Before the agent's own states: useAgent's client-side ones while the room connects.
    client_side = {"disconnected", "connecting", "pre-connect-buffering"}
    assert set(seen) <= client_side | {"initializing", "listening", "thinking", "speaking"}, seen
    interviewer = page.locator('[data-testid="transcript-line"][data-speaker="interviewer"]')
    wait_until(lambda: interviewer.count() >= 2, 60, "the interviewer's reply in the transcript")

    # End: the page waits for the session to complete, then shows the scorecard and the stored transcript.
    page.get_by_test_id("end").click()
    expect(page.get_by_test_id("interview")).to_have_attribute("data-status", "completed", timeout=60_000)
    scorecard = page.get_by_test_id("scorecard")
    expect(scorecard).to_be_visible(timeout=120_000)
    expect(scorecard).to_have_attribute("data-kind", "offline_statistics")
    expect(scorecard).to_contain_text("Transcript statistics only")
    segments = page.get_by_test_id("segment")
    expect(segments.filter(has_text="Candidate").first).to_be_visible()
    stored = stack.api.get(
        f"/sessions/{session_id}/transcript", headers=stack.sign_in(email, PASSWORD)
    ).json()["segments"]
    expect(segments).to_have_count(len(stored))
    audit(page, "after-interview")

    page.get_by_role("link", name="Your interviews").click()
    expect(page.get_by_test_id("session-row")).to_have_count(1)
    expect(page.get_by_test_id("session-row")).to_contain_text("Completed")
    audit(page, "history")


def test_a_page_of_stock_livekit_components_runs_the_interview(
    stack: WebStack, page: Page, microphone: FakeMicrophone, mailbox: Mailbox, stock_port: int, tmp_path: Path
) -> None:
    email = unique_email("stock")
    stack.new_account(mailbox, email, PASSWORD)
    session = stack.new_session(stack.sign_in(email, PASSWORD))
    site = tmp_path / "stock"
    site.mkdir()
    shutil.copy(BROWSER_DIR / "stock" / "index.html", site / "index.html")
    subprocess.run(
        [str(BROWSER_DIR / "node_modules" / ".bin" / "esbuild"), str(BROWSER_DIR / "stock" / "main.jsx"),
         "--bundle", "--format=esm", "--jsx=automatic", "--define:process.env.NODE_ENV=\"production\"",
         "--log-level=warning", f"--outfile={site / 'main.js'}"],
        check=True, timeout=120,
    )  # fmt: skip
    origin = serve_directory(stack, site, stock_port)
    query = f"api={stack.base_url}&email={email}&password={PASSWORD}&room={session['room_name']}"
    page.goto(f"{origin}/index.html?{query.replace(' ', '%20')}")

    wait_for_greeting(page)
    me = page.locator("#me").get_attribute("data-identity")
    agent = page.locator("#agent-state").get_attribute("data-identity")
    assert me
    assert agent
    assert me != agent
    agent_lines = page.locator(f'#transcriptions li[data-identity="{agent}"]')
    expect(agent_lines.first).not_to_be_empty()

    microphone.say(ANSWER)
    page.get_by_role("button", name=re.compile("Fake Audio Input 1")).click()
    mine = page.locator(f'#transcriptions li[data-identity="{me}"][data-final="true"]')
    expect(mine.first).not_to_be_empty(timeout=TURN_TIMEOUT_MS)
    assert word_error_rate(ANSWER, " ".join(mine.all_inner_texts())) <= 0.4, mine.all_inner_texts()
    page.wait_for_function(
        """() => { const s = window.__cv.states.map((e) => e.state);
                   const t = s.lastIndexOf('thinking'); return t >= 0 && s.indexOf('speaking', t) > t; }""",
        timeout=TURN_TIMEOUT_MS,
    )
    assert in_order(states(page), "speaking", "listening", "thinking", "speaking"), states(page)
    wait_until(lambda: agent_lines.count() >= 2, 60, "the interviewer's reply as a transcription")


def test_the_connection_drops_and_comes_back(
    stack: WebStack, page: Page, microphone: FakeMicrophone, mailbox: Mailbox
) -> None:
    audit = Auditor("reconnect")
    email = unique_email("reconnect")
    stack.new_account(mailbox, email, PASSWORD)
    session = stack.new_session(stack.sign_in(email, PASSWORD))
    page.goto(f"{stack.base_url}/interviews/{session['id']}")
    sign_in(page, email, PASSWORD)
    page.get_by_test_id("join").click()
    wait_for_greeting(page)

    drop = NetworkDrop(stack.lk)
    try:
        drop.cut()
        banner = page.get_by_test_id("reconnecting")
        expect(banner).to_be_visible(timeout=30_000)
        audit(page, "reconnecting")
        # Down for a few seconds (the outage itself, not a wait for something to happen).
        page.wait_for_timeout(4000)
        expect(banner).to_be_visible()
    finally:
        drop.restore()
    expect(page.get_by_test_id("reconnecting")).to_be_hidden(timeout=60_000)
    expect(page.get_by_test_id("agent-failed")).to_have_count(0)

    # The interview goes on: the same interviewer hears the next answer and replies.
    before = len(states(page))
    answer(page, microphone, SECOND_ANSWER)
    wait_until(
        lambda: candidate_lines(page), TURN_TIMEOUT_MS / 1000, "the candidate's words after reconnecting"
    )
    page.wait_for_function(
        f"""() => {{ const s = window.__cv.states.slice({before}).map((e) => e.state);
                    const t = s.indexOf('thinking'); return t >= 0 && s.indexOf('speaking', t) > t; }}""",
        timeout=TURN_TIMEOUT_MS,
    )
    banner_changes = [entry["shown"] for entry in record(page)["banner"]]
    assert banner_changes == [True, False], banner_changes
    status = stack.api.get(f"/sessions/{session['id']}", headers=stack.sign_in(email, PASSWORD)).json()
    assert status["status"] == "live", status
