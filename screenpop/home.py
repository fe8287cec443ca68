"""The start page at `/`: what this server is, and where to go (the demo, the wizard, the admin, the API docs)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def start_page(request: HttpRequest) -> HttpResponse:
    return render(request, "screenpop/start.html", {"demo": settings.SCREENPOP_DEV})
