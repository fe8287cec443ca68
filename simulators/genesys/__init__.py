"""A Genesys Cloud simulator: one HTTP port serving login (`/oauth/*`), the Platform API (`/api/v2/*`) and a
control API (`/_sim/*`) for tests, the demo and the benchmarks.

Run it with `python -m simulators.genesys --port 8301`. Behaviour follows `reference/genesys.md`; the README
section "Genesys simulator" in `simulators/README.md` lists the seed, the knobs and every choice made where the
reference is uncertain.
"""
