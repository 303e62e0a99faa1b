"""Where settings come from, highest precedence first: the process environment (with `OCMA_<NAME>_FILE`),
`./.env` in the current directory, then `ocma.env` in the data directory. Every command reads the same
layers, so `ocma serve`, `ocma worker` and `ocma init` agree on one configuration wherever they start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ocma_core.errors import ConfigError

SETTINGS_FILE = "ocma.env"  # in the data directory
LOCAL_FILE = Path(".env")  # in the current directory
_ENV_LINE = re.compile(r"^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=")
_FILE_SUFFIX = "_FILE"


@dataclass(frozen=True)
class Layer:
    """One source of settings: its label for messages, its file (None for the environment), its values."""

    label: str
    path: Path | None
    values: dict[str, str]


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """$XDG_DATA_HOME/ocma, else ~/.local/share/ocma."""
    source = os.environ if env is None else env
    base = source.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ocma"


def check_env_file(path: Path) -> None:
    """Raise ConfigError naming the line of a settings file that is not `NAME=value`."""
    if not path.is_file():
        return
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not _ENV_LINE.match(line):
            raise ConfigError(
                f"{path}:{number} is not a setting line: {stripped[:60]!r}.",
                fix="Each line must be NAME=value (or a # comment); fix or remove that line.",
            )


def read_env_file(path: Path) -> dict[str, str]:
    """The NAME=value pairs of a settings file (empty when it does not exist)."""
    if not path.is_file():
        return {}
    check_env_file(path)
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path, interpolate=False).items() if v is not None}


def with_file_values(values: Mapping[str, str], label: str) -> dict[str, str]:
    """`values` plus OCMA_<NAME> read from the file each OCMA_<NAME>_FILE names (the Docker secret convention)."""
    result = dict(values)
    for name, file_name in values.items():
        if not (name.startswith("OCMA_") and name.endswith(_FILE_SUFFIX)) or not file_name:
            continue
        target = name[: -len(_FILE_SUFFIX)]
        try:
            value = Path(file_name).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(
                f"{name} (in {label}) names {file_name}, which cannot be read: {reason}.",
                fix=f"Point {name} at a readable file holding the value of {target}.",
            ) from None
        if values.get(target) and values[target] != value:  # equal once apply_to_environ() copied it
            raise ConfigError(
                f"Both {target} and {name} are set in {label}, to different values.",
                fix=f"Keep one: {name} to read the value from a file, or {target} for the value itself.",
            )
        result[target] = value
    return result


def settings_layers(*, data_dir: Path | None = None, use_files: bool = True) -> list[Layer]:
    """The layers in force now, highest precedence first."""
    environ = with_file_values(os.environ, "the environment")
    layers = [Layer("the environment", None, environ)]
    if not use_files:
        return layers
    local = LOCAL_FILE.resolve()
    layers.append(Layer(f"{local}", local, with_file_values(read_env_file(local), str(local))))
    if data_dir is None:
        found = environ.get("OCMA_DATA_DIR") or layers[1].values.get("OCMA_DATA_DIR")
        data_dir = Path(found) if found else default_data_dir(environ)
    home = Path(data_dir).expanduser() / SETTINGS_FILE
    layers.append(Layer(f"{home}", home, with_file_values(read_env_file(home), str(home))))
    return layers


def merged(layers: list[Layer]) -> dict[str, str]:
    """Every value, the highest layer winning."""
    result: dict[str, str] = {}
    for layer in reversed(layers):
        result.update(layer.values)
    return result


def source_of(name: str, layers: list[Layer]) -> str | None:
    """The label of the layer that supplies `name`, or None when no layer sets it."""
    for layer in layers:
        if layer.values.get(name) or layer.values.get(name + _FILE_SUFFIX):
            return layer.label
    return None


def apply_to_environ() -> list[Layer]:
    """Put every value of the settings files (and of OCMA_<NAME>_FILE) into os.environ, never overriding a
    variable already set, so plugins and libraries that read the environment see the same configuration."""
    layers = settings_layers()
    for name, value in merged(layers).items():
        os.environ.setdefault(name, value)
    return layers


def settings_files(data_dir: Path) -> tuple[Path, Path]:
    """The settings files pydantic reads, lowest precedence first: the data directory's, then ./.env."""
    return (Path(data_dir).expanduser() / SETTINGS_FILE, LOCAL_FILE)
