"""The Genesys webhook: `POST /api/v1/genesys/events` (DESIGN.md §2-§3).

`events` validates a body, `recorder` authenticates, filters, dedupes and records a batch in one transaction,
`endpoint` is the ASGI fast path that acknowledges without waiting for anything but that durable write.
"""
