"""The only place screenpop writes vendor SQL: what the ORM cannot do fast enough or at all.

- `webhook_sqlite`, `webhook_postgres`: a webhook batch's pops and event-log rows in one write per backend;
  `webhook_reads`, what a batch reads first; `webhook`, the database-thread path of both;
- `pops`: a lookup's leased read, its guarded writes, what a pop shows, the sweep's `SKIP LOCKED` claim;
- `retention`: the purge's chunked deletes;
- `transactions`: write transactions that queue SQLite's writers of a process instead of sleeping;
- `columns`: the columns our statements write, from the models' `_meta`.

Everything else uses the ORM or calls these modules.
"""
