from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import structlog

from switchboard.kit.errors import AppError
from switchboard.plugins.spec import Plugin
from switchboard.settings import Settings

log = structlog.get_logger(__name__)

ENTRY_POINT_GROUP = "switchboard.plugins"


class PluginLoadError(AppError):
    """A plugin that cannot be loaded: an AppError, so the CLI says it in one line instead of a traceback."""


def _coerce(source: str, value: object) -> Plugin:
    plugin = value() if callable(value) and not isinstance(value, Plugin) else value
    if not isinstance(plugin, Plugin):
        raise PluginLoadError(f"{source} is not a switchboard.plugins.Plugin (nor a function returning one)")
    return plugin


def _import(path: str) -> object:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise PluginLoadError(f"plugin path {path!r} must look like 'package.module:attribute'")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise PluginLoadError(
            f"cannot load plugin {path!r} named in SWITCHBOARD_PLUGINS: {exc}. Is its module on PYTHONPATH? To stop "
            "using the plugin, take it out of SWITCHBOARD_PLUGINS (see `switchboard plugins remove` for its tables)"
        ) from exc


def load_plugins(settings: Settings) -> list[Plugin]:
    """Entry points first (when enabled), then SWITCHBOARD_PLUGINS; a plugin named twice loads once."""
    plugins: dict[str, Plugin] = {}
    if settings.load_entry_points:
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            plugin = _coerce(f"entry point {entry.name!r}", entry.load())
            plugins.setdefault(plugin.name, plugin)
    for path in settings.plugins:
        plugin = _coerce(path, _import(path))
        plugins.setdefault(plugin.name, plugin)
    log.debug("plugins.loaded", plugins=sorted(plugins))
    return list(plugins.values())
