"""The sandbox's HTTP/DCI protocol layer: SR (search, txn status, subscribe/notify), IBR enrolled,
the `/ext` extensions, OAuth2 client credentials and JWKS. Data access goes through
`registry_sandbox.store.Store`; see docs/registry-profile.md for the profile it implements.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy.exc import IntegrityError

from registry_sandbox.api.context import DciHttpError, install


def register_blueprints(app: Flask) -> None:
    from registry_sandbox.api import auth, ext, ibr, social
    from registry_sandbox.api.fixtures import seed_fixtures

    context = install(app)
    try:  # the tables and `sub-test-001`, also for a database seeded before this layer existed
        with context.engine.begin() as connection:
            seed_fixtures(connection)
    except IntegrityError:
        pass  # another worker inserted the fixture at the same moment
    for blueprint in (auth.bp, social.bp, ibr.bp, ext.bp):
        app.register_blueprint(blueprint)

    @app.errorhandler(DciHttpError)
    def _dci_error(error: DciHttpError):  # type: ignore[no-untyped-def]
        return error.response()
