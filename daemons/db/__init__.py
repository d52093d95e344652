"""PostgreSQL data layer: server (embedded or ``DATABASE_URL``), migrations, tenants,
row-level-secure units of work, the COPY batch writer and partition maintenance.

Start at :class:`daemons.db.session.Database`; ``docs/database.md`` explains the design.
"""
