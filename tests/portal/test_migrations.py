"""The migrated schema is exactly the models (both backends), and the revision chain is as agreed."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from portal.models import Base


def test_migrated_schema_matches_the_models(portal_engine):
    with portal_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []


def test_case_tables_exist_after_migration(portal_engine):
    tables = set(inspect(portal_engine).get_table_names())
    for name in (
        "grievances",
        "grievance_events",
        "grievance_pauses",
        "change_requests",
        "change_evidence",
        "outbox_messages",
        "outbox_rate_buckets",
        "officers",
        "api_tokens",
        "audit_log",
        "conversations",
        "conversation_messages",
        "canned_replies",
    ):
        assert name in tables


def test_cases_revision_sits_on_the_citizen_revision():
    from importlib import import_module

    revision = import_module("portal.migrations.versions.0002_cases")
    assert revision.revision == "0002_cases"
    assert revision.down_revision == "0001_citizen"
