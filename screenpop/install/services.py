"""What the wizard writes before provisioning: the tenant, its verified Freshdesk connection, its queue filters."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from screenpop import tenants
from screenpop.errors import ValidationFailed
from screenpop.freshdesk.budget import PLANS
from screenpop.freshdesk.client import FreshdeskClient
from screenpop.freshdesk.errors import (
    FreshdeskAuthError,
    FreshdeskError,
    FreshdeskNotFound,
    FreshdeskRateLimited,
)
from screenpop.models import FreshdeskConnection, QueueFilter, Tenant
from screenpop.webhook import callers

API_KEY_HELP = "In Freshdesk, open your profile picture → Profile settings → View API key, and paste that key."


def tenant_for_org(*, org_id: str, org_name: str, environment: str) -> Tenant:
    """The org's tenant, created on its first install; the environment (region) is recorded either way."""
    tenant = Tenant.objects.filter(genesys_org_id=org_id).first()
    if tenant is None:
        return tenants.tenant_create(org_id=org_id, name=org_name or org_id, region=environment)
    if tenant.region != environment:
        tenant.region = environment
        tenant.full_clean()
        tenant.save(update_fields=["region", "updated_at"])
    return tenant


def plan_for_limit(limit: int | None, fallback: str) -> str:
    """The connection's plan choice that matches Freshdesk's `X-RateLimit-Total` (the add-ons count as Enterprise)."""
    if limit is None:
        return fallback
    fitting = [plan for plan in PLANS.values() if plan.per_minute <= limit]
    name = max(fitting, key=lambda plan: plan.per_minute).name if fitting else "trial"
    return name if name in FreshdeskConnection.Plan.values else FreshdeskConnection.Plan.ENTERPRISE


def freshdesk_connect(*, tenant: Tenant, domain: str, api_key: str) -> FreshdeskConnection:
    """Verify the domain and key with one cheap authenticated call, then save them with the plan's limit.

    An empty `api_key` re-verifies the key already saved. Raises `ValidationFailed` (field `freshdesk_domain` or
    `freshdesk_api_key`) with a message that says what to fix, or `FreshdeskError` when Freshdesk could not answer.
    """
    existing = FreshdeskConnection.objects.filter(tenant=tenant).first()
    key = api_key.strip() or (existing.api_key if existing else "")
    if not key:
        raise ValidationFailed(f"Enter the Freshdesk API key. {API_KEY_HELP}", field="freshdesk_api_key")
    try:
        with FreshdeskClient(domain, key, budget=None, read_timeout=10.0) as client:
            limit = client.verify()
    except FreshdeskAuthError as error:
        raise ValidationFailed(
            f"Freshdesk refused this API key ({error.status}). {API_KEY_HELP}", field="freshdesk_api_key"
        ) from error
    except FreshdeskNotFound as error:
        raise ValidationFailed(
            f"There is no Freshdesk helpdesk at {domain!r} ({error.detail}). "
            "Check the address, e.g. acme.freshdesk.com.",
            field="freshdesk_domain",
        ) from error
    except FreshdeskRateLimited as error:
        raise ValidationFailed(
            f"Freshdesk is rate-limiting this account right now; try again in {error.retry_after:.0f} seconds.",
            field="freshdesk_api_key",
        ) from error
    except FreshdeskError as error:
        raise ValidationFailed(
            f"Freshdesk did not answer properly: {error.detail} Try again in a moment.", field="freshdesk_domain"
        ) from error
    with transaction.atomic():
        plan = plan_for_limit(limit, existing.plan if existing else FreshdeskConnection.Plan.GROWTH)
        connection = tenants.freshdesk_connection_set(tenant=tenant, domain=domain.strip(), api_key=key, plan=plan)
        connection.rate_limit_per_minute = limit
        connection.verified_at = timezone.now()
        connection.last_error = ""
        connection.save(update_fields=["rate_limit_per_minute", "verified_at", "last_error"])
    return connection


def queue_ids(tenant: Tenant) -> list[str]:
    return sorted(QueueFilter.objects.filter(tenant=tenant).values_list("queue_id", flat=True))


@transaction.atomic
def queue_filters_update(
    *, tenant: Tenant, shown: dict[str, str], selected: Iterable[str]
) -> tuple[list[str], list[str]]:
    """Apply a page of the queue picker: of the queues `shown` (id → name), the `selected` ones become filters and
    the others stop being filters; filters on queues not shown are kept. Returns (added ids, removed ids)."""
    chosen = {queue_id for queue_id in selected if queue_id in shown}
    existing = set(QueueFilter.objects.filter(tenant=tenant, queue_id__in=shown).values_list("queue_id", flat=True))
    added = sorted(chosen - existing)
    removed = sorted((set(shown) & existing) - chosen)
    QueueFilter.objects.bulk_create(
        [QueueFilter(tenant=tenant, queue_id=queue_id, name=shown[queue_id][:200]) for queue_id in added]
    )
    QueueFilter.objects.filter(tenant=tenant, queue_id__in=removed).delete()
    callers.forget()  # bulk_create sends no signal
    return added, removed
