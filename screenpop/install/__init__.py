"""The install wizard (`/install/`): a Genesys admin logs in, connects Freshdesk, picks queues, and the app
provisions what it needs in the admin's org; the same objects are kept in sync with the queue filters afterwards,
and removed by the uninstall.

- `genesys.py`: the only module that imports the Genesys SDK (lazily: ~2 s and ~200 MB), wrapping its calls and
  mapping its errors to `errors.py`;
- `blueprint.py`: the objects' names and the bodies the app wants them to have;
- `checks.py`: is the premium app available, does the admin hold the permissions;
- `services.py`: tenant, Freshdesk connection and queue filters as the wizard sets them;
- `provisioning.py`: idempotent install and uninstall steps; `sync.py`: queue filters → trigger and widget;
- `views.py` / `urls.py`: the pages.
"""
