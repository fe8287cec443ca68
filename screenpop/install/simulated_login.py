"""Who a newcomer can be in the demo: the Genesys simulator's seeded people, as a choice on the wizard's login page.

Real Genesys shows its own login page, where the admin types who they are; the simulator has none and signs in the
user named by `login_hint` (its first agent otherwise). So, for a simulator environment only (development), the
login page offers the simulated organisation's admin (who holds Master Admin and can install) and an agent (who
lacks the permissions and sees what they are), and the login passes the choice on as `login_hint`.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from screenpop.validation import genesys_base_url, is_simulator_environment, simulators_allowed

SEED_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class SimulatedUser:
    login: str  # the simulator's login_hint: the user's email
    name: str
    kind: str  # "admin" or "agent"

    @property
    def label(self) -> str:
        if self.kind == "admin":
            return f"{self.name}, admin: holds Master Admin, can install the app"
        return f"{self.name}, agent: lacks the admin permissions, sees which ones the install needs"


def simulated_users(environment: str | None) -> list[SimulatedUser]:
    """The first admin and the first agent of the simulator's first organisation, admin first; [] when
    `environment` is not an allowed simulator or the simulator does not answer."""
    if not environment or not simulators_allowed() or not is_simulator_environment(environment):
        return []
    try:
        response = requests.get(f"{genesys_base_url(environment)}/_sim/seed", timeout=SEED_TIMEOUT_SECONDS)
        response.raise_for_status()
        seed = response.json()
        org_id = seed["orgs"][0]["id"]
        people = [user for user in seed["users"] if user["org_id"] == org_id]
    except (requests.RequestException, ValueError, KeyError, IndexError, TypeError):
        return []
    chosen = []
    for kind, is_agent in (("admin", False), ("agent", True)):
        user = next((user for user in people if bool(user.get("agent")) == is_agent), None)
        if user:
            chosen.append(SimulatedUser(login=str(user["email"]), name=str(user["name"]), kind=kind))
    return chosen
