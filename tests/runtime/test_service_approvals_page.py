"""The approvals page in headless Chromium: sign in, see the pending approval, approve it.

Set AIRLOCK_UPDATE_SCREENSHOTS=1 to refresh docs/approvals-page.png from this run.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest
from runtime_testkit import Call, calls, final, tool
from service_kit import make_token, start_service, wait_status

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (.ci/run installs it)")


@pytest.fixture
def service_with_pending_approval(ws, serve):
    model = serve(
        "openai",
        [
            calls(Call("lookup_order", {"order_id": 7})),
            calls(Call("issue_refund", {"order_id": 7, "amount": 20.0}), text="Order 7 arrived damaged; refunding 20 EUR."),
            final("Refund handled."),
        ],
    )
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund", policy="ask")])
    tokens_file = ws.root / "tokens"
    tokens = {"alice": make_token(tokens_file, "alice", "approve"), "bot": make_token(tokens_file, "ci-bot", "submit")}
    service = start_service(ws.state, spec, tokens_file=tokens_file, env=ws.env)
    client = service.client(tokens["bot"])
    task_id = client.post("/v1/tasks", json={"task": "Refund order 7, it arrived damaged"}).json()["task_id"]
    assert wait_status(client, task_id, {"waiting_approval", "failed"})["status"] == "waiting_approval"
    yield service, tokens, task_id, client
    if service.proc.poll() is None:
        service.proc.kill()
        service.proc.wait()


def test_sign_in_see_the_approval_approve_it_and_the_task_completes(ws, service_with_pending_approval, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    service, tokens, task_id, client = service_with_pending_approval
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1100, "height": 760})
        page.goto(service.url + "/approvals")
        assert page.get_by_label("API token").is_visible()
        page.get_by_label("API token").fill("alk_not-a-token")
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("alert").inner_text() == "that token is not valid"

        page.get_by_label("API token").fill(tokens["alice"])
        page.get_by_role("button", name="Sign in").click()
        (cookie,) = page.context.cookies()
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
        card = page.locator("section.card")
        assert card.count() == 1
        text = card.inner_text()
        assert "issue_refund" in text and '"order_id": 7' in text and '"amount": 20.0' in text
        assert "Order 7 arrived damaged; refunding 20 EUR." in text  # the model's stated reason
        assert "Refund order 7, it arrived damaged" in text  # the task
        agent_version = client.get(f"/v1/tasks/{task_id}").json()["agent_version"]
        assert agent_version in text and "signed in as alice" in page.content().replace("<strong>", "").replace("</strong>", "")
        shot = tmp_path / "approvals-page.png"
        page.screenshot(path=str(shot), full_page=True)
        if os.environ.get("AIRLOCK_UPDATE_SCREENSHOTS"):
            shutil.copy(shot, DOCS / "approvals-page.png")

        # A form posted without this session's CSRF token is refused.
        forged = httpx.post(
            f"{service.url}/approvals/{card.get_attribute('data-approval-id')}",
            data={"decision": "approve", "csrf": "0" * 64},
            cookies={cookie["name"]: cookie["value"]},
        )
        assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf"

        card.get_by_label("Reason for your decision").fill("damage confirmed on the photo")
        card.get_by_role("button", name="Approve").click()
        # The form posts and the page reloads: wait for the reloaded page (is_visible() would not).
        expect(page.get_by_text("Nothing is waiting for a decision.")).to_be_visible()
        browser.close()

    done = wait_status(client, task_id, {"succeeded", "failed"})
    assert done["status"] == "succeeded" and done["output"] == "Refund handled."
    assert len(ws.effects_done()) == 1
    audit = [json.loads(line) for line in (ws.state / "audit" / "audit.jsonl").read_text().splitlines()]
    decided = next(r for r in audit if r["kind"] == "approval_decided")
    assert decided["data"]["decided_by"] == "alice" and decided["data"]["reason"] == "damage confirmed on the photo"
    applied = next(r for r in audit if r["kind"] == "approval_applied")
    assert applied["data"]["decided_by"] == "alice"
