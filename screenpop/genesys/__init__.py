"""Genesys Cloud, as the app talks to it: one home for its clients and one family of errors.

- `errors`: `GenesysError` and its kinds, raised by everything below.
- `client`: a small HTTP client (users/me, a conversation, a PKCE code exchange) for the agents' panel; no SDK.
- `api` and `transport`: the Platform API through the Python SDK for the install wizard, the scripted install and the
  queue-filter sync. Only `transport.sdk()` imports `PureCloudPlatformClientV2`, on first use: it costs about 2 s and
  200 MB (DESIGN.md §7), so nothing the webhook or the panel loads may import `api` or `transport`.
"""
