"""Configuration from arguments, then the environment, then a config file.

Every front end (client, MCP server, LangChain, CLI) reads the same ``Settings`` so a
value set once (say ``COPILOT_TOOLS_ENDPOINT`` pointing at the emulator) holds for all
of them. ``Settings.sources`` remembers where each value came from, which is what
``copilot-tools config`` shows when a user wonders why a value is what it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from copilot_tools.errors import InvalidInputError

ENV_PREFIX = "COPILOT_TOOLS_"
CONFIG_ENV = "COPILOT_TOOLS_CONFIG"
#: Tables of the config file that front ends read for themselves.
FRONT_END_TABLES = frozenset({"cli", "mcp"})

DEFAULT_FILE_HOSTS: tuple[str, ...] = (
    "sharepoint.com",
    "sharepoint.us",
    "sharepoint-mil.us",
    "sharepoint.cn",
    "sharepoint.de",
)


#: The longest ``timeout`` or ``deadline`` accepted (a day): larger values are typos, and
#: infinite ones overflow the event loop's clock.
MAX_SECONDS = 86_400.0


def default_config_path() -> Path:
    """``config.toml`` under the user's config directory (XDG, macOS or Windows)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("copilot-tools", appauthor=False)) / "config.toml"


class Settings(BaseModel):
    """Everything a front end needs to reach Copilot.

    ``timeout`` (seconds) is the longest silence tolerated while bytes should be flowing
    (connecting, a stream between events). ``deadline`` (seconds) bounds a whole call:
    every attempt, back-off and streamed byte. A synchronous ``/chat`` turn sends nothing
    until it is done, so its wait is bounded by the deadline alone.
    """

    # defer_build: the validator is built on first use, not at import (benchmarks/import_time.py).
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    endpoint: str = Field(
        default="graph",
        description="graph, workiq or a base URL (the emulator's http://127.0.0.1:8000/beta, a national cloud).",
    )
    access_token: SecretStr | None = None
    time_zone: str | None = Field(default=None, description="An IANA zone; unset: the machine's own zone.")
    tenant_id: str | None = None
    client_id: str | None = None
    account: str | None = None
    web_search: bool = True
    file_hosts: tuple[str, ...] = Field(
        default=DEFAULT_FILE_HOSTS,
        description="The host suffixes file URLs must end with (on label boundaries): the allow-list.",
    )
    timeout: float = Field(default=120.0, gt=0, le=MAX_SECONDS, allow_inf_nan=False)
    deadline: float = Field(default=600.0, gt=0, le=MAX_SECONDS, allow_inf_nan=False)
    max_retries: int = Field(default=3, ge=0, le=10)
    #: Longest a tool call (MCP, LangChain) waits out throttling before it returns the
    #: throttled error with ``retry_after``; well under a host's 60 s request timeout.
    throttle_budget: float = Field(default=20.0, ge=0, le=600)
    workiq_conversations_path: str | None = None
    #: Sign in through the platform broker (WAM, the macOS SSO plug-in) when ``msal[broker]`` is installed.
    broker: bool = True

    #: Where each field's value came from: "argument", "environment", "config file", "default".
    sources: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)

    def __init__(self, **values: Any) -> None:
        """Settings built in code: a wrong value is an ``InvalidInputError`` naming the setting."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _invalid(exc) from None

    @field_validator("file_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip().lower().lstrip(".") for part in value.split(",") if part.strip())
        if isinstance(value, (list, tuple)):
            return tuple(str(part).strip().lower().lstrip(".") for part in value if str(part).strip())
        return value

    @field_validator("client_id")
    @classmethod
    def _client_id_is_a_guid(cls, value: str | None) -> str | None:
        if not value:  # unset, or blank in a config file: the default app, as before
            return value
        from copilot_tools.auth.scopes import validate_client_id

        return validate_client_id(value)

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        config_path: Path | str | None = None,
    ) -> Settings:
        """Merge ``overrides`` (non-None values) over the environment over the config file.

        A config file that does not parse, or a value of the wrong type, is an
        ``InvalidInputError`` naming the file and the key, never a silent default.
        """
        env = os.environ if environ is None else environ
        explicit = config_path or env.get(CONFIG_ENV)
        path = Path(explicit or default_config_path())
        if explicit and path.exists() and not path.is_file():
            raise InvalidInputError("config file", f"{path} is not a file")
        if explicit and not path.exists() and config_path is not None:
            raise InvalidInputError("config file", f"{path} does not exist",
                                    hint="Check the path given with --config.")
        from_file = _read_config_file(path)
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        fields = [name for name in cls.model_fields if name != "sources"]
        for name in fields:
            if name in from_file:
                values[name], sources[name] = from_file[name], f"config file ({path})"
            env_value = env.get(ENV_PREFIX + name.upper())
            if env_value is not None and env_value != "":
                values[name], sources[name] = env_value, f"environment ({ENV_PREFIX + name.upper()})"
        for name, value in (overrides or {}).items():
            if name not in fields:
                raise InvalidInputError("setting", f"unknown setting {name!r}")
            if value is not None:
                values[name], sources[name] = value, "argument"
        unknown = set(from_file) - set(fields)
        if unknown:
            raise InvalidInputError(
                "config file",
                f"{path} has unknown keys {sorted(unknown)}",
                hint=f"Known keys: {', '.join(fields)}.",
            )
        try:
            settings = cls(**values)
        except InvalidInputError as exc:
            source = sources.get(exc.argument, "default")
            raise InvalidInputError(exc.argument, f"{exc.detail} (from {source})", hint=exc.hint) from None
        settings.sources = {name: sources.get(name, "default") for name in fields}
        return settings

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, shown value, source) rows; secrets are shown only as set or unset."""
        rows = []
        for name in type(self).model_fields:
            if name == "sources":
                continue
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown = "set (hidden)"
            elif value is None:
                shown = "(unset)"
            elif isinstance(value, tuple):
                shown = ",".join(value)
            else:
                shown = str(value)
            rows.append((name, shown, self.sources.get(name, "default")))
        return rows


def _invalid(error: ValidationError) -> InvalidInputError:
    """The first problem of ``error`` as an ``InvalidInputError`` naming the setting.

    A validator's own ``InvalidInputError`` (with its hint) is passed on as it was raised.
    """
    first = error.errors()[0]
    raised = first.get("ctx", {}).get("error")
    if isinstance(raised, InvalidInputError):
        return raised
    key = str(first["loc"][0]) if first["loc"] else "settings"
    return InvalidInputError(key, str(first["msg"]))


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    import tomllib  # only with a config file: ~1.5 ms of `from copilot_tools import CopilotClient` otherwise

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError("config file", f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:  # unreadable (permissions), or gone since is_file()
        reason = exc.strerror or type(exc).__name__
        raise InvalidInputError("config file", f"{path} cannot be read ({reason})") from None
    # Accept both a flat file and a [copilot-tools] table; other tables ([cli]) belong to
    # the front ends that read them.
    table = data.get("copilot-tools", data)
    if not isinstance(table, dict):
        raise InvalidInputError("config file", f"{path}: [copilot-tools] must be a table")
    return {
        key.replace("-", "_"): value
        for key, value in table.items()
        if not (key in FRONT_END_TABLES and isinstance(value, dict))
    }
