"""The composer in the console, with running workflows: draft by hand for two recipients,
preview as each, send now, and both receive their copy."""

from __future__ import annotations

from datetime import timedelta

from tests.console.helpers import csrf_of


async def test_compose_preview_and_send_to_two_contacts(console) -> None:
    on, http, csrf = console
    on.stack.open_window("desifirms")
    on.contact("priya@sharma-realty.com.au", brand="desifirms", name="Priya Sharma")
    form = {
        "csrf_token": csrf,
        "target": "desifirms/real_estate",
        "email_type": "intro",
        "tone": "friendly",
        "addresses": "priya@sharma-realty.com.au\nraj@kumar-homes.com.au",
        "by_hand": "true",
        "subject": "Listings for {{ contact.first_name }}",
        "body": "Hi {{ contact.first_name }}, we list properties for free this month.",
    }
    other = await http.post("/console/composer/", data=form | {"target": "codeteki/sales"})
    assert "Not drafted: Choose one of your pipelines" in other.text
    page = await http.post("/console/composer/", data=form)
    assert "is ready" in page.text
    draft_url = str(page.url.path)
    assert "Listings for Priya" in page.text  # previewed as the first recipient
    as_raj = await http.get(draft_url, params={"to": "raj@kumar-homes.com.au"})
    assert "raj@kumar-homes.com.au" in as_raj.text
    broken = await http.post(
        f"{draft_url}/save",
        data={
            "csrf_token": csrf_of(as_raj.text),
            "subject": "{{ oops",
            "body": "x",
            "addresses": "priya@sharma-realty.com.au",
        },
    )
    assert "Not saved:" in broken.text
    sent = await http.post(f"{draft_url}/send", data={"csrf_token": csrf})
    assert "Sent: 2 deals started" in sent.text
    await on.stack.env.sleep(timedelta(hours=1))
    assert len(on.stack.inbox.to("priya@sharma-realty.com.au")) == 1
    assert len(on.stack.inbox.to("raj@kumar-homes.com.au")) == 1
    (priya,) = on.stack.inbox.to("priya@sharma-realty.com.au")
    assert priya["Subject"] == "Listings for Priya"
    again = await http.post(f"{draft_url}/send", data={"csrf_token": csrf})
    assert "Not sent:" in again.text  # a duplicate submit sends nothing twice
    assert len(on.stack.inbox.to("raj@kumar-homes.com.au")) == 1
