"""The Django admin: tenants with their Freshdesk connection and queue filters, webhook OAuth clients,
and read-only pops and event log. Saved secrets are never rendered; a new client secret is shown once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from screenpop import tenants
from screenpop.errors import ScreenpopError
from screenpop.genesys import quotas
from screenpop.install import links
from screenpop.install import services as install_services
from screenpop.install import sync as install_sync
from screenpop.models import CallWrapUp, EventLog, FreshdeskConnection, Pop, QueueFilter, Tenant, WebhookClient
from screenpop.storage.wrapups import wrapup_retry
from screenpop.tenant_health import tenant_health, tenant_pop_retry


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


@dataclass(frozen=True)
class QueueChoices:
    """The queue picker's options (id → name) and, when Genesys could not list them, why."""

    names: dict[str, str]
    problem: str = ""


WRITEBACK_SETTINGS = ("wrapup_unlinked", "wrapup_unknown_caller", "wrapup_status_map", "participant_attributes")


class TenantForm(forms.ModelForm):
    """A tenant, its queue filters picked from the org's queues (`TenantAdmin.get_form` fills the choices), and the
    write-back's settings, which keep their saved value (or default) when a form leaves them out or empty."""

    KEPT_WHEN_EMPTY = WRITEBACK_SETTINGS

    queues = forms.MultipleChoiceField(
        label=_("Queue filters"),
        required=False,
        widget=FilteredSelectMultiple(_("queues"), is_stacked=False),
        help_text=_("Calls entering the chosen queues pop; choose none to pop for every queue."),
    )

    class Meta:
        model = Tenant
        fields = [
            "name",
            "genesys_org_id",
            "region",
            "active",
            "phone_region",
            "ticket_limit",
            "panel_client_id",
            *WRITEBACK_SETTINGS,
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.KEPT_WHEN_EMPTY:
            if name in self.fields:
                self.fields[name].required = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in self.KEPT_WHEN_EMPTY:
            if name in self.fields and cleaned.get(name) in ("", None):
                kept = getattr(self.instance, name, None)
                cleaned[name] = kept if kept not in ("", None) else Tenant._meta.get_field(name).get_default()
        return cleaned


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    form = TenantForm
    list_display = [
        "name",
        "genesys_org_id",
        "region",
        "active",
        "sync_state",
        "trigger_quota_use",
        "health_link",
        "created_at",
    ]
    list_filter = ["active", "region", "sync_state"]
    search_fields = ["name", "genesys_org_id"]
    inlines = [FreshdeskConnectionInline]
    readonly_fields = [
        "health_link",
        "freshdesk_webhook_url",
        "genesys_trigger_quota",
        "genesys_sync_client_id",
        "genesys_objects_table",
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
        "health_link",
        "queues",
        "phone_region",
        "ticket_limit",
        "ivr_attribute",
        "wrapup_unlinked",
        "wrapup_unknown_caller",
        "wrapup_status_map",
        "participant_attributes",
        "panel_client_id",
        "freshdesk_webhook_url",
        "genesys_sync_client_id",
        "sync_state",
        "sync_error",
        "genesys_trigger_quota",
        "genesys_objects_table",
        "created_at",
    ]

    # -- the queue picker -------------------------------------------------------------------------------------------

    def get_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        """No picker on the add page: the org's queues are read with the sync client the install makes."""
        return self.fields if obj is not None else [name for name in self.fields if name != "queues"]

    def _queue_choices(self, request: HttpRequest, tenant: Tenant) -> QueueChoices:
        """The org's queues, read once per request (the admin builds the form more than once per page); the saved
        filters' names follow renames in Genesys. When Genesys cannot list them, the saved filters are the options."""
        cached = getattr(request, "_screenpop_queue_choices", None)
        if cached is not None:
            return cached
        saved = {queue.queue_id: queue.name or queue.queue_id for queue in QueueFilter.objects.filter(tenant=tenant)}
        try:
            choices = QueueChoices({queue["id"]: queue["name"] for queue in install_sync.org_queues(tenant=tenant)})
        except ScreenpopError as error:
            problem = (
                f"The organisation's queues could not be listed ({error.detail}) Only the saved filters are shown."
            )
            choices = QueueChoices(saved, problem)
        else:
            # A filter on a queue Genesys no longer lists stays visible, so it can be removed.
            choices = QueueChoices({**choices.names, **{k: v for k, v in saved.items() if k not in choices.names}})
        request._screenpop_queue_choices = choices  # type: ignore[attr-defined]
        return choices

    def get_form(self, request: HttpRequest, obj: Tenant | None = None, **kwargs: Any) -> type[forms.ModelForm]:
        form_class = super().get_form(request, obj, **kwargs)
        if obj is None or "queues" not in form_class.base_fields:
            return form_class
        choices = self._queue_choices(request, obj)
        selected = list(QueueFilter.objects.filter(tenant=obj).values_list("queue_id", flat=True))

        class TenantFormWithQueues(form_class):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **form_kwargs: Any) -> None:
                super().__init__(*args, **form_kwargs)
                field = self.fields["queues"]
                field.choices = sorted(choices.names.items(), key=lambda item: item[1].lower())
                field.initial = selected
                if choices.problem:
                    field.help_text = choices.problem

        return TenantFormWithQueues

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
        """Save the picked queues as the tenant's filters, then send them to its Genesys trigger and widget (issue 6
        §2) once the transaction has committed; the outcome lands on the tenant (`sync_state`, `sync_error`)."""
        tenant = form.instance
        before = set(QueueFilter.objects.filter(tenant=tenant).values_list("queue_id", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        if "queues" in form.fields:
            install_services.queue_filters_update(
                tenant=tenant, shown=dict(form.fields["queues"].choices), selected=form.cleaned_data["queues"]
            )
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

    # -- the Genesys objects and the health page --------------------------------------------------------------------

    @admin.display(description=_("Genesys Cloud objects"))
    def genesys_objects_table(self, tenant: Tenant) -> str:
        rows = links.installed_objects(tenant)
        if not rows:
            return _("Nothing installed in Genesys Cloud (run the install wizard at /install/).")
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            (
                (
                    row["kind"],
                    format_html(
                        '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', row["url"], row["name"]
                    )
                    if row["url"]
                    else row["name"],
                    row["id"],
                    row["version"],
                )
                for row in rows
            ),
        )
        return format_html(
            '<table class="screenpop-objects"><thead><tr><th>What</th><th>Name (opens Genesys Cloud)</th><th>Id</th>'
            "<th>Version</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description=_("Health"))
    def health_link(self, tenant: Tenant) -> str:
        if not tenant.pk:
            return "-"
        url = reverse("admin:screenpop_tenant_health", args=[tenant.pk])
        return format_html('<a href="{}">{}</a>', url, _("Last pop, Freshdesk budget and breaker, failures"))

    def get_urls(self) -> list[URLPattern]:
        health = path(
            "<int:tenant_id>/health/",
            self.admin_site.admin_view(self.health_view),
            name="screenpop_tenant_health",
        )
        return [health, *super().get_urls()]

    def health_view(self, request: HttpRequest, tenant_id: int) -> HttpResponseBase:
        """The tenant's health (GET), and the retry of one failed pop (POST `retry=<pop id>`, change permission)."""
        tenant = get_object_or_404(Tenant, pk=tenant_id)
        if not self.has_view_or_change_permission(request, tenant):
            return HttpResponse(status=403)
        if request.method == "POST":
            if not self.has_change_permission(request, tenant):
                return HttpResponse(status=403)
            try:
                pop_id = int(request.POST.get("retry", ""))
            except ValueError:
                return HttpResponse("retry: give the id of a pop to look up again.", status=400)
            if tenant_pop_retry(tenant=tenant, pop_id=pop_id):
                messages.success(request, _("Pop %(id)d is being looked up again.") % {"id": pop_id})
            else:
                messages.warning(request, _("Pop %(id)d is not unavailable or in error any more.") % {"id": pop_id})
            return redirect("admin:screenpop_tenant_health", tenant_id=tenant.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Health of %(tenant)s") % {"tenant": tenant.name},
            "health": tenant_health(tenant=tenant),
            "can_retry": self.has_change_permission(request, tenant),
        }
        return TemplateResponse(request, "admin/screenpop/tenant/health.html", context)

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


REASON_CHARACTERS = 160


@admin.register(EventLog)
class EventLogAdmin(ReadOnlyAdmin):
    """The changelist fits a 1366-px screen with the reason, the phone and the conversation in view: a short time,
    a long reason cut (whole on hover and on the event's page), a conversation id allowed to wrap."""

    list_display = ["received", "tenant_name", "source", "outcome", "http", "conversation", "caller", "reason_short"]
    list_display_links = ["received"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # The admin's navigation sidebar takes 300 px the reason needs; the breadcrumbs lead back.
        return super().changelist_view(request, {"is_nav_sidebar_enabled": False, **(extra_context or {})})

    @admin.display(description=_("Tenant"), ordering="tenant__name")
    def tenant_name(self, event: EventLog) -> str:
        return event.tenant.name if event.tenant else "-"

    @admin.display(description=_("HTTP"), ordering="status_code")
    def http(self, event: EventLog) -> int:
        return event.status_code

    @admin.display(description=_("Phone"), ordering="phone")
    def caller(self, event: EventLog) -> str:
        return event.phone.removeprefix("tel:") or "-"

    list_filter = ["outcome", "source", "tenant", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["conversation_id", "phone", "reason"]
    date_hierarchy = "received_at"
    list_select_related = ["tenant"]

    class Media:
        css = {"all": ["admin/screenpop/eventlog.css"]}

    @admin.display(description=_("Received"), ordering="received_at")
    def received(self, event: EventLog) -> str:
        return format_html('<time datetime="{}">{}</time>', event.received_at.isoformat(), _local(event.received_at))

    @admin.display(description=_("Conversation"), ordering="conversation_id")
    def conversation(self, event: EventLog) -> str:
        return format_html("<code>{}</code>", event.conversation_id) if event.conversation_id else "-"

    @admin.display(description=_("Reason"))
    def reason_short(self, event: EventLog) -> str:
        if not event.reason:
            return "-"
        short = Truncator(event.reason).chars(REASON_CHARACTERS)
        return format_html('<span title="{}">{}</span>', event.reason, short) if short != event.reason else short


def _local(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


@admin.register(CallWrapUp)
class CallWrapUpAdmin(ReadOnlyAdmin):
    """Every wrap-up and what became of its note; a failed one shows its cause and can be retried."""

    list_display = [
        "received_at",
        "tenant",
        "conversation_id",
        "user_id",
        "wrapup_code",
        "state",
        "ticket_id",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = ["state", "tenant", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["conversation_id", "user_id", "last_error"]
    date_hierarchy = "received_at"
    list_select_related = ["tenant"]
    actions = ["retry"]

    @admin.action(description=_("Retry writing the note"))
    def retry(self, request: HttpRequest, queryset: QuerySet[CallWrapUp]) -> None:
        retried = sum(wrapup_retry(wrapup_id) for wrapup_id in queryset.values_list("pk", flat=True))
        skipped = queryset.count() - retried
        self.message_user(request, _("%(retried)d wrap-up(s) queued again.") % {"retried": retried}, messages.SUCCESS)
        if skipped:
            self.message_user(
                request, _("%(skipped)d were not failed and were left as they are.") % {"skipped": skipped}
            )


# The mirror's own admin lives with the mirror; importing it here registers it (Django looks only for this module).
from screenpop.mirror import admin as mirror_admin  # noqa: E402, F401
