"""What goes wrong for a person using the web app, in real Chromium, on a stack with no interviewer agent
(tests/web/stack.py): a wrong password, an unconfirmed address, a microphone the browser may not use, an
interviewer who never joins (the timeout, then Try again), and a session that has expired. The pages met on
the way, and the pages not reached elsewhere (not found, recruiters only, the recruiters' own pages), are
checked with axe-core and photographed at desktop and phone width (test-artifacts/browser/).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import ADMIN_DSN, TEST_DB
from tests.support.mailbox import Mailbox
from tests.web.chromium import Auditor, FakeMicrophone, launch, new_page, unique_email
from tests.web.stack import WebStack, start_stack

pytestmark = [pytest.mark.netns, pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, mailbox: Mailbox
) -> Iterator[WebStack]:
    web = start_stack(tmp_path_factory.mktemp("web-stack-no-agent"), agent=False)
    try:
        yield web
    finally:
        web.close()


@pytest.fixture(scope="module")
def browser(stack: WebStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    microphone = FakeMicrophone(tmp_path_factory.mktemp("microphone") / "microphone.wav")
    with sync_playwright() as playwright:
        chromium = launch(playwright, stack.lk, stack.workdir, microphone)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def audit() -> Auditor:
    return Auditor("errors")


def open_page(browser: Browser, *, microphone: bool = True) -> Page:
    return new_page(browser, microphone=microphone)


def sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def account(stack: WebStack, mailbox: Mailbox) -> str:
    email = unique_email("person")
    stack.new_account(mailbox, email, PASSWORD)
    return email


def test_a_wrong_password_and_an_unconfirmed_address_are_explained(
    stack: WebStack, browser: Browser, mailbox: Mailbox, audit: Auditor
) -> None:
    email = account(stack, mailbox)
    page = open_page(browser)
    page.goto(f"{stack.base_url}/sign-in")
    sign_in(page, email, "not the password at all")
    error = page.get_by_test_id("sign-in-error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    expect(error).not_to_contain_text("401")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    audit(page, "sign-in-wrong-password")

    unconfirmed = unique_email("unconfirmed")
    body = {"email": unconfirmed, "password": PASSWORD, "display_name": "Not Yet"}
    assert stack.api.post("/auth/register", json=body).status_code == 202
    sign_in(page, unconfirmed, PASSWORD)
    expect(error).to_contain_text(re.compile("confirm", re.IGNORECASE))

    sign_in(page, email, PASSWORD)
    expect(page.get_by_role("heading", name="Start an interview")).to_be_visible()
    page.context.close()


def test_a_microphone_the_browser_may_not_use(
    stack: WebStack, browser: Browser, mailbox: Mailbox, audit: Auditor
) -> None:
    email = account(stack, mailbox)
    session = stack.new_session(stack.sign_in(email, PASSWORD))
    page = open_page(browser, microphone=False)
    page.goto(f"{stack.base_url}/interviews/{session['id']}")
    sign_in(page, email, PASSWORD)
    error = page.get_by_test_id("mic-error")
    expect(error).to_contain_text("not allowed to use your microphone")
    expect(page.get_by_test_id("join")).to_be_disabled()
    audit(page, "prejoin-microphone-denied")
    page.context.close()


def test_the_interviewer_not_joining_in_time_offers_a_retry(
    stack: WebStack, browser: Browser, mailbox: Mailbox, audit: Auditor
) -> None:
    email = account(stack, mailbox)
    session = stack.new_session(stack.sign_in(email, PASSWORD))
    page = open_page(browser)
    page.goto(f"{stack.base_url}/interviews/{session['id']}")
    sign_in(page, email, PASSWORD)
    page.get_by_test_id("join").click()
    expect(page.get_by_test_id("live-interview")).to_be_visible()
    failed = page.get_by_test_id("agent-failed")
    # The page gives the interviewer 20 s (AGENT_JOIN_TIMEOUT_MS in LiveInterview.tsx).
    expect(failed).to_be_visible(timeout=60_000)
    expect(failed).to_contain_text("The interviewer did not join the room in time")
    audit(page, "interviewer-not-joined")
    page.get_by_test_id("retry").click()
    expect(failed).to_be_hidden()
    expect(page.get_by_test_id("live-interview")).to_be_visible()
    expect(page.get_by_test_id("agent-state")).to_be_visible()
    page.context.close()


def test_an_expired_session_goes_back_to_sign_in_with_a_message(
    stack: WebStack, browser: Browser, mailbox: Mailbox, audit: Auditor
) -> None:
    email = account(stack, mailbox)
    page = open_page(browser)
    page.clock.install()
    page.goto(f"{stack.base_url}/sign-in")
    sign_in(page, email, PASSWORD)
    expect(page.get_by_role("heading", name="Start an interview")).to_be_visible()

    # The refresh token is revoked (signed out elsewhere), and the access token's 15 minutes pass.
    refresh_token = page.evaluate("localStorage.getItem('codevoice.refresh_token')")
    assert stack.api.post("/auth/logout", json={"refresh_token": refresh_token}).status_code == 204
    page.clock.fast_forward("16:00")
    page.get_by_role("link", name="Your interviews").click()
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Fhistory$"))
    notice = page.get_by_test_id("auth-notice")
    expect(notice).to_contain_text("Your session has expired")
    assert page.evaluate("localStorage.getItem('codevoice.refresh_token')") is None
    audit(page, "sign-in-session-expired")

    # Signing in again continues where the person was going.
    sign_in(page, email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/history$"))
    expect(page.get_by_role("heading", name="Your interviews")).to_be_visible()

    # Coming back later in a new page load: the stored refresh token is refused, same message.
    refresh_token = page.evaluate("localStorage.getItem('codevoice.refresh_token')")
    assert stack.api.post("/auth/logout", json={"refresh_token": refresh_token}).status_code == 204
    page.reload()
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Fhistory$"))
    expect(notice).to_contain_text("Your session has expired")
    page.context.close()


def test_the_pages_not_reached_elsewhere_pass_axe(
    stack: WebStack, browser: Browser, mailbox: Mailbox, audit: Auditor
) -> None:
    email = account(stack, mailbox)
    page = open_page(browser)
    page.goto(f"{stack.base_url}/no/such/page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    audit(page, "not-found")
    page.goto(f"{stack.base_url}/confirm-email?token=not-a-real-token")
    expect(page.get_by_test_id("confirm-failed")).to_be_visible()
    audit(page, "confirm-email-failed")

    page.goto(f"{stack.base_url}/staff/interviews")
    sign_in(page, email, PASSWORD)
    expect(page.get_by_role("heading", name="Recruiters only")).to_be_visible()
    audit(page, "recruiters-only")

    with psycopg.connect(ADMIN_DSN.rsplit("/", 1)[0] + f"/{TEST_DB}", autocommit=True) as db:
        db.execute("UPDATE users SET role = 'recruiter' WHERE email = %s", (email,))
    stack.new_session(stack.sign_in(email, PASSWORD))
    page.reload()
    expect(page.get_by_role("heading", name="All interviews")).to_be_visible()
    expect(page.get_by_test_id("session-row").first).to_be_visible()
    audit(page, "staff-interviews")
    page.get_by_role("link", name="Live rooms").click()
    expect(page.get_by_role("heading", name="Live rooms")).to_be_visible()
    audit(page, "staff-rooms")
    page.context.close()
