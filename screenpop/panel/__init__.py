"""The agent panel (issue 5): the Interaction Widget page Genesys frames next to a call, the agent's login and
panel session, the Create-ticket action, and the development-only demo desktop.

- `context`: what Genesys interpolates into the widget URL, validated (environment allow-list first).
- `services`: open a panel session (verify the agent with Genesys, map org -> tenant, check participation,
  issue the panel token); create a ticket for a caller nobody knows.
- `views`: `/widget/`, `/widget/auth/`, the JavaScript catalogue, and the panel's two API endpoints.
- `demo`: `/demo/`, the simulated agent desktop around the real panel (only with `SCREENPOP_DEV`).
"""
