"""The Freshdesk API v2 client, its domain errors and the per-account rate budget (DESIGN.md §2)."""

from screenpop.freshdesk.budget import PLANS, PlanLimits, RateBudget
from screenpop.freshdesk.client import FreshdeskClient, freshdesk_base_url
from screenpop.freshdesk.errors import (
    FreshdeskAuthError,
    FreshdeskError,
    FreshdeskInvalidRequest,
    FreshdeskNotFound,
    FreshdeskRateLimited,
    FreshdeskTransientError,
)

__all__ = [
    "PLANS",
    "FreshdeskAuthError",
    "FreshdeskClient",
    "FreshdeskError",
    "FreshdeskInvalidRequest",
    "FreshdeskNotFound",
    "FreshdeskRateLimited",
    "FreshdeskTransientError",
    "PlanLimits",
    "RateBudget",
    "freshdesk_base_url",
]
