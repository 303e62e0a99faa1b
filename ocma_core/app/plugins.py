"""The plugin host, the registry policy every registered item follows, settings and the secrets vault.

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.config import Settings, load_settings
from ocma_core.crypto import Vault
from ocma_core.plugin_registry import Registry
from ocma_core.plugins import PluginHost, get_host

__all__ = ["PluginHost", "Registry", "Settings", "Vault", "get_host", "load_settings"]
