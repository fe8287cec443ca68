"""The Django admin: tenants with their Freshdesk connection and queue filters, webhook OAuth clients,
and read-only pops and event log. Saved secrets are never rendered; a new client secret is shown once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from screenpop import tenants
from screenpop.genesys import quotas
from screenpop.install import sync as install_sync
from screenpop.models import EventLog, FreshdeskConnection, Pop, QueueFilter, Tenant, WebhookClient


class FreshdeskConnectionForm(forms.ModelForm):
    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Stored encrypted. Leave empty to keep the saved key."),
    )
    webhook_secret = forms.CharField(
        label=_("Freshdesk webhook secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Leave empty to keep the saved secret."),
    )

    class Meta:
        model = FreshdeskConnection
        fields = [
            "domain",
            "api_key",
            "plan",
            "match_phone",
            "match_mobile",
            "custom_phone_field",
            "webhook_secret",
        ]

    def clean_api_key(self) -> str:
        value = self.cleaned_data.get("api_key", "")
        if not value and not (self.instance.pk and self.instance.api_key):
            raise forms.ValidationError(_("Enter the Freshdesk API key (Profile settings → View API key)."))
        return value or self.instance.api_key

    def clean_webhook_secret(self) -> str:
        return self.cleaned_data.get("webhook_secret", "") or (self.instance.webhook_secret if self.instance.pk else "")


class FreshdeskConnectionInline(admin.StackedInline):
    model = FreshdeskConnection
    form = FreshdeskConnectionForm
    can_delete = True
    extra = 0
    max_num = 1
    readonly_fields = ["rate_limit_per_minute", "verified_at", "last_error", "last_error_at", "index_synced_at"]


class QueueFilterInline(admin.TabularInline):
    model = QueueFilter
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "genesys_org_id", "region", "active", "sync_state", "trigger_quota_use", "created_at"]
    list_filter = ["active", "region", "sync_state"]
    search_fields = ["name", "genesys_org_id"]
    inlines = [FreshdeskConnectionInline, QueueFilterInline]
    readonly_fields = [
        "freshdesk_webhook_url",
        "genesys_trigger_quota",
        "genesys_sync_client_id",
        "genesys_objects",
        "sync_state",
        "sync_error",
        "created_at",
    ]
    actions = ["retry_genesys_sync"]
    fields = [
        "name",
        "genesys_org_id",
        "region",
        "active",
        "phone_region",
        "ticket_limit",
        "panel_client_id",
        "freshdesk_webhook_url",
        "genesys_sync_client_id",
        "sync_state",
        "sync_error",
        "genesys_trigger_quota",
        "genesys_objects",
        "created_at",
    ]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        """The page's tenants carry their trigger usage, read in one grouped query for the whole page."""
        changelist = super().get_changelist_instance(request)
        tenants_shown = list(changelist.result_list)
        usage = quotas.trigger_usage_by_tenant(tenant_ids=[tenant.pk for tenant in tenants_shown])
        for tenant in tenants_shown:
            tenant.trigger_usage = usage[tenant.pk]
        return changelist

    @admin.display(description=_("Trigger quota used (minute / hour)"))
    def trigger_quota_use(self, tenant: Tenant) -> str:
        usage = getattr(tenant, "trigger_usage", None) or quotas.trigger_usage(tenant=tenant)
        text = f"{usage.minute_share:.0%} / {usage.hour_share:.0%}"
        return format_html('<strong class="errornote">{}</strong>', text) if usage.warning else text

    @admin.display(description=_("Genesys trigger quota"))
    def genesys_trigger_quota(self, tenant: Tenant) -> str:
        """How close the org runs to Genesys's delivery limits, from the events that reached the webhook."""
        if not tenant.pk:
            return "-"
        usage = quotas.trigger_usage(tenant=tenant)
        return format_html(
            "<span class=\"{}\">Last minute: {} of {} ({}%) for the app's workflow (80% of the organization's {} "
            "a minute). Last hour: {} of {} ({}%). Other workflows of the organization count against the same "
            "limits.</span>",
            "errornote" if usage.warning else "",
            f"{usage.last_minute:,}",
            f"{quotas.WORKFLOW_INVOCATIONS_PER_MINUTE:,}",
            round(usage.minute_share * 100, 1),
            f"{quotas.INVOCATIONS_PER_MINUTE:,}",
            f"{usage.last_hour:,}",
            f"{quotas.INVOCATIONS_PER_HOUR:,}",
            round(usage.hour_share * 100, 1),
        )

    @admin.display(description=_("Freshdesk webhook URL"))
    def freshdesk_webhook_url(self, tenant: Tenant) -> str:
        if not tenant.pk:
            return "-"
        return f"{settings.PUBLIC_BASE_URL}/api/v1/freshdesk/events/{tenant.freshdesk_webhook_token}"

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        """After the queue filters are saved, send them to the tenant's Genesys trigger and widget (issue 6 §2),
        once the transaction has committed; the outcome lands on the tenant (`sync_state`, `sync_error`)."""
        tenant = form.instance
        before = set(QueueFilter.objects.filter(tenant=tenant).values_list("queue_id", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(QueueFilter.objects.filter(tenant=tenant).values_list("queue_id", flat=True))
        if before != after and install_sync.needs_sync(tenant):
            install_sync.queue_filters_sync_on_commit(
                tenant_id=tenant.pk, done=lambda result: self._report_sync(request, result)
            )

    def _report_sync(self, request: HttpRequest, result: install_sync.SyncResult) -> None:
        if result.state == Tenant.SyncState.OK:
            messages.success(request, _("Genesys Cloud updated: %(detail)s") % {"detail": result.detail})
        else:
            messages.error(request, result.detail)

    @admin.action(description=_("Retry the Genesys queue-filter sync"))
    def retry_genesys_sync(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            self._report_sync(request, install_sync.queue_filters_sync(tenant=tenant))


class WebhookClientAddForm(forms.ModelForm):
    name = forms.CharField(label=_("Name"), required=False, help_text=_("Optional; shown in this list."))

    class Meta:
        model = WebhookClient
        fields = ["tenant"]


@admin.register(WebhookClient)
class WebhookClientAdmin(admin.ModelAdmin):
    list_display = ["client_id", "tenant", "active", "created_at", "secret_rotated_at", "revoked_at"]
    list_filter = ["active", "tenant"]
    search_fields = ["application__client_id", "tenant__name", "tenant__genesys_org_id"]
    actions = ["rotate_secret", "revoke"]
    readonly_fields = ["client_id", "tenant", "active", "created_at", "secret_rotated_at", "revoked_at"]

    @admin.display(description=_("Client id"))
    def client_id(self, webhook_client: WebhookClient) -> str:
        return webhook_client.application.client_id

    def get_form(self, request: HttpRequest, obj: WebhookClient | None = None, **kwargs: Any) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = WebhookClientAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: WebhookClient | None = None) -> list[str]:
        return ["tenant", "name"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookClient | None = None) -> list[str]:
        return [] if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: WebhookClient, form: forms.ModelForm, change: bool) -> None:
        if change:
            return
        issued = tenants.webhook_client_create(tenant=form.cleaned_data["tenant"], name=form.cleaned_data["name"])
        obj.pk = issued.webhook_client.pk
        obj.refresh_from_db()
        self._show_secret_once(request, issued)

    def _show_secret_once(self, request: HttpRequest, issued: tenants.IssuedCredentials) -> None:
        messages.warning(
            request,
            format_html(
                "Client id <code>{}</code> — client secret <code class='screenpop-secret'>{}</code>. "
                "Copy the secret into the Genesys credential now: it is not shown again.",
                issued.client_id,
                issued.client_secret,
            ),
        )

    @admin.action(description=_("Rotate the secret (shown once; old tokens end)"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookClient]) -> None:
        for webhook_client in queryset.select_related("application"):
            self._show_secret_once(request, tenants.webhook_client_rotate(webhook_client=webhook_client))

    @admin.action(description=_("Revoke (tokens refused at once)"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[WebhookClient]) -> None:
        for webhook_client in queryset:
            tenants.webhook_client_revoke(webhook_client=webhook_client)
        messages.success(request, _("%(count)d client(s) revoked.") % {"count": queryset.count()})


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Pop)
class PopAdmin(ReadOnlyAdmin):
    list_display = ["conversation_id", "tenant", "phone_e164", "state", "attempts", "received_at", "completed_at"]
    list_filter = ["state", "tenant", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["conversation_id", "phone_raw", "phone_e164"]
    date_hierarchy = "received_at"
    list_select_related = ["tenant"]


@admin.register(EventLog)
class EventLogAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "tenant", "source", "outcome", "status_code", "conversation_id", "phone", "reason"]
    list_filter = ["outcome", "source", "tenant", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["conversation_id", "phone", "reason"]
    date_hierarchy = "received_at"
    list_select_related = ["tenant"]


# The mirror's own admin lives with the mirror; importing it here registers it (Django looks only for this module).
from screenpop.mirror import admin as mirror_admin  # noqa: E402, F401
