"""Persistence: the engine and unit of work, typed models, repositories and migrations."""
