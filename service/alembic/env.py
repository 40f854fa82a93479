"""Alembic environment: runs the migrations on the connection service.db.migrate() hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, text

from service.models import Base

config = context.config
target_metadata = Base.metadata


def _current_schema(connection: Connection) -> str | None:
    if connection.dialect.name != "postgresql":
        return None
    return str(connection.execute(text("SELECT current_schema()")).scalar())


def run_migrations_offline() -> None:
    """Emit SQL for the configured URL without connecting."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run on the given connection, or on a new one to the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
            # The version table lives in the schema the tables go to (first on search_path),
            # not in whichever schema on the path already has one.
            version_table_schema=_current_schema(connection),
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as new_connection:
        context.configure(
            connection=new_connection,
            target_metadata=target_metadata,
            compare_type=True,
            render_as_batch=new_connection.dialect.name == "sqlite",
            version_table_schema=_current_schema(new_connection),
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
