"""Alembic migrations; ``pmfbot db upgrade`` runs them to head."""
