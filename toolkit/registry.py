"""One small registry class, used once per kind (architectures, editors, probes, suites...).

Registries are plain objects owned by the module that defines the kind, never module
level mutable state shared across kinds, and they refuse a duplicate name so that two
plugins cannot silently shadow each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from biaskit.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object mapping that refuses duplicates and names the options on a miss.

    Args:
        kind: What is registered ("architecture", "editor", ...), used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Add `item` under `name`; raise `RegistryError` if the name is taken."""
        if name in self._items:
            raise RegistryError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        """Return the item registered as `name`, or raise listing the known names."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise RegistryError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        """Sorted registered names."""
        return sorted(self._items)
