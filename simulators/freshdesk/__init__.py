"""A Freshdesk API v2 simulator: one account, served over HTTP by a separate process.

Run it with `python -m simulators.freshdesk --port N`. It reproduces what `shared/reference/freshdesk.md` describes
(auth, content negotiation, exact-string contact filters, pagination, the ticket list's quirks, the search query
language and its index lag, ticket creation, ticket fields, per-plan rate limits, error shapes, the "Trigger
webhook" automation) and adds a control API under `/_sim/` for knobs (latency, faults, outage, plan, index lag,
clock), the request log, reset, and agent-side changes. `simulators/README.md` documents both, and the seed.

Modules: `server` (HTTP), `pipeline` (what every API call goes through), `routes` (endpoints and credits),
`contacts_api`, `tickets_api`, `ticket_writes` (the endpoints), `search` (query language), `params` (query-string
validation and paging), `store` (data and the lagging search index), `records` (API representations), `catalog`
(codes, labels, ticket fields), `limits` (plans and rate limiter), `config` (knobs), `clock`, `seed`, `webhooks`,
`control` (`/_sim/`), `requestlog`, `simulator` (the state they share), `messages` (request and response types).
"""

DEFAULT_API_KEY = "freshdesk-sim-key"

__all__ = ["DEFAULT_API_KEY"]
