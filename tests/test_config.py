from __future__ import annotations

import re
from pathlib import Path

import pytest

from controller.config import Route, Settings, load_settings
from controller.exceptions import ConfigError


def test_embedded_defaults() -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.host_port == ("127.0.0.1", 8084)
    assert settings.records == Path("records/calls.jsonl")


def test_precedence_file_then_environment_then_command_line(tmp_path: Path) -> None:
    config = tmp_path / "callflow.yaml"
    config.write_text(
        "listen: 0.0.0.0:9000\nmax_calls: 50\nflows: /srv/flows\n"
        "routes:\n  - {match: '1\\d{3}', flow: inbound-ivr}\n"
    )
    environ = {"CALLFLOW_CONFIG": str(config), "CALLFLOW_MAX_CALLS": "80"}
    settings = load_settings(environ=environ, overrides={"flows": Path("mine"), "audio": None})
    assert settings.listen == "0.0.0.0:9000"  # file
    assert settings.max_calls == 80  # environment beats file
    assert settings.flows == Path("mine")  # command line beats both
    assert settings.audio == Path("audio")  # None means "not given"
    assert settings.routes == (Route(match="1\\d{3}", flow="inbound-ivr"),)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"CALLFLOW_MAX_CALLS": "many"},
            "max_calls (from CALLFLOW_MAX_CALLS): must be a whole number, not 'many'",
        ),
        ({"CALLFLOW_LISTEN": "nowhere"}, "listen"),
        ({"CALLFLOW_AUDIO": "/srv/my audio"}, "must not contain spaces"),
        ({"CALLFLOW_LOG_FORMAT": "xml"}, "log_format"),
        ({"CALLFLOW_LOG_LEVEL": "chatty"}, "log_level must be debug, info"),
        ({"CALLFLOW_RECORDS_QUEUE": "0"}, "records_queue must be between 1 and 1000000"),
    ],
)
def test_bad_values_name_the_setting_and_its_origin(environ: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(environ=environ)


def test_unknown_setting_in_file(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("lisen: 1.2.3.4:5\n")
    with pytest.raises(ConfigError, match="unknown setting 'lisen'"):
        load_settings(config_file=config, environ={})


def test_programs_db_is_a_file_or_a_postgresql_url_kept_out_of_repr() -> None:
    url = "postgresql://callflow:s3cret@db.example:5432/programs"
    settings = load_settings(environ={"CALLFLOW_PROGRAMS_DB": url})
    assert settings.programs_db == url  # whole: as a path its '//' would be lost
    assert "s3cret" not in repr(settings)
    settings = load_settings(environ={"CALLFLOW_PROGRAMS_DB": "/var/lib/callflow/p.db"})
    assert settings.programs_db == Path("/var/lib/callflow/p.db")


def test_instance_name_is_checked() -> None:
    assert load_settings(environ={"CALLFLOW_INSTANCE_NAME": "cc-paris-1"}).instance_name == (
        "cc-paris-1"
    )
    with pytest.raises(ConfigError, match="instance_name: 'a b' must be 1-64 letters"):
        load_settings(environ={"CALLFLOW_INSTANCE_NAME": "a b"})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CALLFLOW_CONNECT_TIMEOUT": "0"}, "connect_timeout must be above 0 and at most 60"),
        ({"CALLFLOW_HTTP_MAX_CONNECTIONS": "0"}, "http_max_connections must be at least 1"),
        ({"CALLFLOW_HTTP_HEADER_TIMEOUT": "nan"}, "http_header_timeout must be above 0"),
        ({"CALLFLOW_HTTP_BODY_TIMEOUT": "1e9"}, "http_body_timeout must be above 0 and at most"),
        ({"CALLFLOW_CALL_FD_RESERVE": "-5"}, "call_fd_reserve must be 0 or more"),
    ],
)
def test_flood_limits_are_checked(environ: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(environ=environ)
