"""One registry type for every extension point: metrics, generation backends, dataset
presets and de-identification recognizers.

A `Registry[T]` is a name -> item mapping (a dict, so `name in REG`, `REG[name]` and
iteration in registration order work as before) with one way to add an item, one way to
look one up (an unknown name is a one-line `ConfigError` listing the known names) and
plugins from other installed packages through entry points, as sqlite-utils and pytest do:

    # pyproject.toml of a plugin package
    [project.entry-points."radllama.metrics"]
    my_metric = "my_package.metrics"   # importing the module registers its metric

>>> SHAPES: Registry[int] = Registry("shape", group=None)
>>> @SHAPES.add("square")
... def square() -> int:
...     return 4
>>> SHAPES.lookup("square")()
4
>>> SHAPES.lookup("circle")
Traceback (most recent call last):
...
radllama.core.errors.ConfigError: unknown shape 'circle'; registered shapes are [square]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import import_module
from importlib.metadata import entry_points
from typing import TypeVar

from radllama.core.errors import ConfigError

T = TypeVar("T")


class Registry(dict[str, T]):
    """Name -> item, in registration order; see the module docstring."""

    def __init__(
        self,
        kind: str,
        *,
        group: str | None,
        check: Callable[[str, T], T] | None = None,
        builtins: Iterable[str] = (),
    ) -> None:
        super().__init__()
        self.kind = kind  # what an item is, in words: "metric", "backend", ...
        self.group = group  # entry-point group of plugins (None: built-ins only)
        self.check = check  # validates (and may normalise) an item when it is registered
        # Modules whose import registers the built-in items (each registers its own), imported
        # on first use so that a light module (a Config) can name the registry cheaply.
        self.builtins = tuple(builtins)
        self._builtins_loaded = not self.builtins
        self._plugins_loaded = group is None

    def register(self, name: str, item: T) -> T:
        """Add (or replace) `item` under `name`; returns it (checked first when the
        registry has a `check`, so a bad item fails where it is registered)."""
        if not name or not isinstance(name, str):
            raise ConfigError(f"a {self.kind} needs a non-empty name")
        if self.check is not None:
            item = self.check(name, item)
        self[name] = item
        return item

    def add(self, name: str) -> Callable[[T], T]:
        """Decorator form of `register`."""

        def decorate(item: T) -> T:
            return self.register(name, item)

        return decorate

    def load_builtins(self) -> Registry[T]:
        """Import the built-in modules once (each registers its own items)."""
        if not self._builtins_loaded:
            self._builtins_loaded = True
            for module in self.builtins:
                import_module(module)
        return self

    def load_plugins(self) -> Registry[T]:
        """The built-ins, then every installed `group` entry point, once (each registers its
        items)."""
        self.load_builtins()
        if not self._plugins_loaded:
            self._plugins_loaded = True
            for point in entry_points(group=self.group or ""):
                try:
                    point.load()
                except Exception as error:  # a broken plugin must not break the built-ins
                    raise ConfigError(
                        f"{self.kind} plugin {point.name!r} ({point.value}) failed to load: "
                        f"{error.__class__.__name__}: {error}; fix or uninstall it"
                    ) from None
        return self

    def lookup(self, name: str) -> T:
        """The item registered as `name` (plugins loaded first); ConfigError otherwise."""
        if name not in self:
            self.load_plugins()
        if name not in self:
            raise ConfigError(
                f"unknown {self.kind} '{name}'; registered {self.kind}s are [{', '.join(self)}]"
            )
        return self[name]
