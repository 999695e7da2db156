"""WSGI entry point for gunicorn: `registry_sandbox.wsgi:app`."""

from registry_sandbox import create_app

app = create_app()
