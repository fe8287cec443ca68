"""The tenant's local mirror of Freshdesk callers and open tickets: what a pop reads first (DESIGN.md §2).

`records` turns Freshdesk records into mirror rows (versioned writes), `sync` keeps the mirror in step (first sync,
incremental, reconciliation; paced, leased, resumable), `reads` is what a pop reads, `refresh` what a pop asks of it
beyond reading (a contacts catch-up for an unknown number, one call to refresh what it showed).
"""
