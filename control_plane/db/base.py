"""The metadata every model registers on (advanced-alchemy's shared declarative base)."""

from advanced_alchemy.base import orm_registry

metadata = orm_registry.metadata
