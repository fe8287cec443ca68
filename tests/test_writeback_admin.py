"""The admin's side of the write-back: wrap-ups with their cause, the retry action, the tenant's settings."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from screenpop.models import CallWrapUp

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw-for-tests-only"))
    return client


def test_a_failed_wrapup_shows_its_cause_and_the_retry_action_queues_it_again(admin_client, make_tenant) -> None:
    tenant = make_tenant()
    failed = CallWrapUp.objects.create(
        tenant=tenant, conversation_id="conv-9", user_id="agent-9", received_at=timezone.now(), state="failed",
        attempts=7, last_error="Freshdesk refused the API key <script>", completed_at=timezone.now(),
    )  # fmt: skip
    written = CallWrapUp.objects.create(
        tenant=tenant, conversation_id="conv-8", user_id="agent-9", received_at=timezone.now(), state="written"
    )

    listing = admin_client.get("/admin/screenpop/callwrapup/?state__exact=failed")
    detail = admin_client.get(f"/admin/screenpop/callwrapup/{failed.pk}/change/")
    retried = admin_client.post(
        "/admin/screenpop/callwrapup/",
        {"action": "retry", "_selected_action": [failed.pk, written.pk]},
        follow=True,
    )

    assert listing.status_code == 200
    assert b"Freshdesk refused the API key &lt;script&gt;" in listing.content
    assert detail.status_code == 200
    assert b"1 wrap-up(s) queued again." in retried.content
    failed.refresh_from_db()
    written.refresh_from_db()
    assert (failed.state, failed.attempts, failed.next_attempt_at) == ("pending", 0, None)
    assert written.state == "written"


def test_the_tenant_page_edits_the_writeback_settings(admin_client, make_tenant) -> None:
    tenant = make_tenant()

    page = admin_client.get(f"/admin/screenpop/tenant/{tenant.pk}/change/")

    assert page.status_code == 200
    for name in (b"wrapup_unlinked", b"wrapup_unknown_caller", b"wrapup_status_map", b"participant_attributes"):
        assert name in page.content


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("wrapup_status_map", {"Resolved": "4"}),
        ("wrapup_status_map", {"Resolved": 1}),
        ("wrapup_status_map", ["Resolved"]),
        ("participant_attributes", {"ticket_colour": "x"}),
        ("participant_attributes", {"enabled": "no"}),
    ],
)
def test_bad_writeback_settings_are_refused_with_a_reason(make_tenant, field: str, value) -> None:
    tenant = make_tenant()
    setattr(tenant, field, value)

    with pytest.raises(ValidationError) as refused:
        tenant.full_clean()

    assert field in refused.value.message_dict
