"""What stops an install that is not a failed Genesys call (those are `screenpop.genesys.errors`)."""

from __future__ import annotations

from screenpop.errors import ScreenpopError


class InstallNotPossible(ScreenpopError):
    """A precondition of the install is not met (product not available, permissions missing, no Freshdesk...)."""

    status_code = 409
    code = "install_not_possible"
