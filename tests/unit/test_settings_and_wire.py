"""Settings precedence and the wire models' tolerance of what the service adds."""

from __future__ import annotations

import re

from pathlib import Path

import pytest

from copilot_tools import CopilotClient, InvalidInputError, Settings
from copilot_tools._wire import Conversation, RetrievalHit, SensitivityLabel


def test_arguments_beat_environment_beat_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'endpoint = "workiq"\ntime_zone = "Europe/Paris"\nweb_search = false\nfile-hosts = "contoso.example"\n'
    )
    env = {"COPILOT_TOOLS_TIME_ZONE": "Asia/Tokyo", "COPILOT_TOOLS_ACCESS_TOKEN": "secret"}
    arguments = {"endpoint": "http://127.0.0.1:9/beta", "time_zone": None}
    settings = Settings.load(arguments, environ=env, config_path=config)
    assert settings.endpoint == "http://127.0.0.1:9/beta"
    assert settings.time_zone == "Asia/Tokyo"
    assert settings.web_search is False
    assert settings.file_hosts == ("contoso.example",)
    assert settings.sources["endpoint"] == "argument"
    assert settings.sources["time_zone"] == "environment (COPILOT_TOOLS_TIME_ZONE)"
    assert settings.sources["web_search"].startswith("config file")
    assert settings.sources["tenant_id"] == "default"
    shown = {name: value for name, value, _ in settings.describe()}
    assert shown["access_token"] == "set (hidden)" and "secret" not in repr(settings)


@pytest.mark.parametrize("client_id", ["my-app", "14d82eec-204b-4c2f-b7e8-296a70dab67e&redirect_uri=https://evil.example",
                                       "https://contoso.example/app", "14d82eec204b4c2fb7e8296a70dab67e", " "])
def test_a_client_id_that_is_not_a_guid_is_refused_naming_its_source(client_id: str, tmp_path: Path) -> None:
    environ = {"COPILOT_TOOLS_CONFIG": str(tmp_path / "none.toml")}
    with pytest.raises(InvalidInputError) as info:
        Settings.load(environ={**environ, "COPILOT_TOOLS_CLIENT_ID": client_id})
    error = info.value
    assert error.argument == "client_id" and "(from environment (COPILOT_TOOLS_CLIENT_ID))" in error.message
    assert "GUID" in error.message and "Application (client) ID" in (error.hint or "")
    assert "App registrations" in (error.hint or "")
    with pytest.raises(InvalidInputError, match=r"client_id: .* \(from argument\)"):
        Settings.load({"client_id": client_id}, environ=environ)
    with pytest.raises(InvalidInputError) as built:
        Settings(client_id=client_id)
    assert built.value.argument == "client_id" and built.value.hint == error.hint


def test_a_refused_client_id_is_quoted_only_when_it_is_a_mistyped_guid(tmp_path: Path) -> None:
    """A client secret pasted in the wrong place must not reach stderr or a server's log."""
    environ = {"COPILOT_TOOLS_CONFIG": str(tmp_path / "none.toml")}
    secret = "Xq38Q~abcdEFGHijklMNOPqrstUVwxyz0123456.7_"
    with pytest.raises(InvalidInputError) as info:
        Settings.load(environ={**environ, "COPILOT_TOOLS_CLIENT_ID": secret})
    assert secret not in str(info.value) and "a value of 42 characters" in info.value.message
    typo = "14d82eec-204b-4c2f-b7e8-296a70dab67"  # one digit short
    with pytest.raises(InvalidInputError, match=re.escape(repr(typo))):
        Settings.load({"client_id": typo}, environ=environ)


def test_a_client_id_guid_is_kept_and_blank_means_the_default(tmp_path: Path) -> None:
    environ = {"COPILOT_TOOLS_CONFIG": str(tmp_path / "none.toml")}
    guid = "BA081686-5d24-4bc6-a0d6-d034ecffed87"
    assert Settings.load({"client_id": f" {guid} "}, environ=environ).client_id == guid
    assert Settings.load(environ={**environ, "COPILOT_TOOLS_CLIENT_ID": ""}).client_id is None


def test_config_problems_name_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("endpoint = [")
    with pytest.raises(InvalidInputError, match="not valid TOML"):
        Settings.load(environ={}, config_path=config)
    config.write_text('endpont = "graph"\n')
    with pytest.raises(InvalidInputError, match="unknown keys"):
        Settings.load(environ={}, config_path=config)
    with pytest.raises(InvalidInputError) as info:
        Settings.load(
            environ={"COPILOT_TOOLS_MAX_RETRIES": "many", "COPILOT_TOOLS_CONFIG": str(tmp_path / "none.toml")}
        )
    assert info.value.argument == "max_retries" and "COPILOT_TOOLS_MAX_RETRIES" in info.value.message
    with pytest.raises(InvalidInputError, match="does not exist"):
        Settings.load(environ={}, config_path=tmp_path / "typo.toml")  # an explicit --config must exist
    with pytest.raises(InvalidInputError, match="not a file"):
        Settings.load(environ={}, config_path=tmp_path)


def test_an_unreadable_config_file_is_an_invalid_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('endpoint = "graph"\n')

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", refuse)  # chmod 000 does not stop root
    with pytest.raises(InvalidInputError, match="cannot be read .Permission denied."):
        Settings.load(environ={}, config_path=config)


def test_front_end_tables_are_left_to_their_front_ends(tmp_path: Path) -> None:
    for text in ('endpoint = "workiq"\n[cli]\njson = true\n',
                 '[copilot-tools]\nendpoint = "workiq"\n[copilot-tools.cli]\njson = true\n'):
        config = tmp_path / "config.toml"
        config.write_text(text)
        assert Settings.load(environ={}, config_path=config).endpoint == "workiq"


def test_client_arguments_over_settings_are_validated() -> None:
    with pytest.raises(InvalidInputError) as info:
        CopilotClient(settings=Settings(endpoint="http://127.0.0.1:1/beta", access_token="t"), max_retries=100)
    assert info.value.argument == "max_retries"


def test_client_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COPILOT_TOOLS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COPILOT_TOOLS_ENDPOINT", "http://127.0.0.1:8000/beta")
    monkeypatch.setenv("COPILOT_TOOLS_ACCESS_TOKEN", "t")
    monkeypatch.setenv("COPILOT_TOOLS_TIME_ZONE", "America/New_York")
    with CopilotClient() as client:
        assert client.endpoint == "http://127.0.0.1:8000/beta"
        assert client.default_time_zone == "America/New_York"


def test_default_time_zone_is_the_machines_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COPILOT_TOOLS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("COPILOT_TOOLS_TIME_ZONE", raising=False)
    monkeypatch.setattr("tzlocal.get_localzone_name", lambda: "Australia/Sydney")
    with CopilotClient(base_url="http://127.0.0.1:1/beta", token="t") as client:
        assert client.default_time_zone == "Australia/Sydney"


def test_unknown_fields_are_kept_and_both_label_spellings_read() -> None:
    data = {"id": "c", "turnCount": 1, "newField": {"x": 1}, "status": "active",
            "messages": [{"id": "m", "text": "t", "references": {"a": 1}, "sensitivityLabel": {"toolTip": "tip"}}]}
    conversation = Conversation.model_validate(data)
    assert conversation.to_wire()["newField"] == {"x": 1}
    assert conversation.messages[0].to_wire()["references"] == {"a": 1}
    assert conversation.messages[0].sensitivity_label.tooltip == "tip"
    assert SensitivityLabel.model_validate({"tooltip": "x"}).tooltip == "x"
    hit = RetrievalHit.model_validate({"webUrl": "https://c/a", "extracts": None, "resourceMetadata": None})
    assert hit.extracts == [] and hit.resource_metadata == {}
