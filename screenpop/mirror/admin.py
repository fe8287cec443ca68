"""The mirror in the Django admin: each tenant's sync, with its progress bar and time left, read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from screenpop.mirror.sync import sync_progress
from screenpop.models import MirrorContact, MirrorSync, MirrorTicket


@admin.register(MirrorSync)
class MirrorSyncAdmin(admin.ModelAdmin):
    list_display = ["tenant", "phase", "progress", "time_left", "contacts", "open_tickets", "freshness", "last_error"]
    list_filter = ["phase"]
    list_select_related = ["tenant", "tenant__freshdesk"]
    readonly_fields = [
        "tenant", "phase", "progress", "time_left", "started_at", "live_since", "contacts_seen", "contacts_estimate",
        "contacts_page", "tickets_seen", "tickets_estimate", "tickets_since", "tickets_current_at", "reconciled_at",
        "lease_owner", "lease_expires_at", "last_error",
    ]  # fmt: skip
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("progress"))
    def progress(self, state: MirrorSync) -> str:
        fraction, _left = sync_progress(state)
        if fraction is None:
            return format_html("<span>{}</span>", _("%(count)s contacts read") % {"count": state.contacts_seen})
        percent = round(fraction * 100)
        return format_html(
            '<progress max="100" value="{}" aria-label="{}">{}%</progress> {}%',
            percent,
            _("first sync"),
            percent,
            percent,
        )

    @admin.display(description=_("time left"))
    def time_left(self, state: MirrorSync) -> str:
        _fraction, left = sync_progress(state)
        if left is None:
            return "—"
        minutes = max(1, round(left.total_seconds() / 60))
        return _("about %(hours)d h %(minutes)02d min") % {"hours": minutes // 60, "minutes": minutes % 60}

    @admin.display(description=_("contacts"))
    def contacts(self, state: MirrorSync) -> int:
        return MirrorContact.objects.filter(tenant_id=state.tenant_id, deleted=False).count()

    @admin.display(description=_("open tickets"))
    def open_tickets(self, state: MirrorSync) -> int:
        return MirrorTicket.objects.filter(tenant_id=state.tenant_id).exclude(status=5).count()

    @admin.display(description=_("up to date as of"))
    def freshness(self, state: MirrorSync) -> Any:
        connection = getattr(state.tenant, "freshdesk", None)
        moments = [
            moment for moment in (getattr(connection, "index_synced_at", None), state.tickets_current_at) if moment
        ]
        return min(moments) if moments else "—"
