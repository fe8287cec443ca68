"""The start page at `/`: a newcomer finds what this is and every place to go, and every link leads somewhere."""

from __future__ import annotations

import re

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("dev", [True, False])
def test_the_start_page_links_to_every_entry_point(client, settings, dev) -> None:
    settings.SCREENPOP_DEV = dev
    response = client.get("/")
    assert response.status_code == 200
    text = response.content.decode()
    links = re.findall(r'href="(/[^"]*)"', text)
    expected = ["/install/", "/admin/", "/api/docs/", "/api/schema/", "/healthz", "/readyz"]
    assert [link for link in expected if link not in links] == []
    assert ("/demo/" in links) == dev, "the demo desktop is offered only where it runs"
    for link in links:
        if link.startswith("/static/"):
            continue
        assert client.get(link).status_code in (200, 302), link
