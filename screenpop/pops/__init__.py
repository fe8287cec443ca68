"""A pop: one inbound call's lookup and what it shows (`result.PopResult`), from the webhook's accept to the panel.

`result` owns the shape the panel shows, `services` runs a pop's life (lookup, retry, finish), `selectors` reads it.
"""
