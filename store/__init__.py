"""The store: documents, extraction runs, commitments, deals and their links.

SQLAlchemy 2.0 over SQLite (default) or PostgreSQL; Alembic migrations are
applied when a :class:`Store` opens. The store never calls an LLM.
"""
