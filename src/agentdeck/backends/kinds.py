"""Every backend kind agentdeck knows, in one table: a new platform adds one entry here.

An entry names the platform's package and two classes in it: its settings class in
``settings.py`` (read whenever a config is loaded, so kept small; the module also holds
``EXAMPLE``, the minimal backend the generated docs configure) and its backend class in
``backend.py``, which is imported only when a backend of that kind is configured.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentdeck.errors import ConfigError

if TYPE_CHECKING:
    from agentdeck.backends.base import Backend
    from agentdeck.backends.settings import BackendCommon


@dataclass(frozen=True)
class Kind:
    """Where one platform lives: its package, settings class and backend class."""

    package: str
    settings: str
    backend: str


KINDS: dict[str, Kind] = {
    "local": Kind("agentdeck.backends.local", "LocalSettings", "LocalBackend"),
    "make": Kind("agentdeck.backends.make", "MakeSettings", "MakeBackend"),
    "agenticflow": Kind(
        "agentdeck.backends.agenticflow", "AgenticFlowSettings", "AgenticFlowBackend"
    ),
    "agentflow": Kind("agentdeck.backends.agentflow", "AgentFlowSettings", "AgentFlowBackend"),
    "roboflow": Kind("agentdeck.backends.roboflow", "RoboflowSettings", "RoboflowBackend"),
    "a2a": Kind("agentdeck.backends.a2a", "A2ASettings", "A2ABackend"),
}


def settings_class(kind: str) -> type[BackendCommon]:
    """The settings class of ``kind`` (its package's ``settings`` module)."""
    cls: type[BackendCommon] = getattr(_module(kind, "settings"), KINDS[kind].settings)
    return cls


def settings_example(kind: str) -> tuple[str, dict[str, Any]]:
    """A backend name and minimal settings of ``kind``, for generated docs."""
    example: tuple[str, dict[str, Any]] = _module(kind, "settings").EXAMPLE
    return example


def backend_class(kind: str) -> type[Backend]:
    """The backend class of ``kind``; its module is imported only now."""
    cls: type[Backend] = getattr(_module(kind, "backend"), KINDS[kind].backend)
    return cls


def _module(kind: str, name: str) -> Any:
    module_name = f"{KINDS[kind].package}.{name}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise ConfigError(f"backends of kind '{kind}' are not available in this version.") from None
