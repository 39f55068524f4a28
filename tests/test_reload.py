"""SIGHUP: the settings read again and applied live where they can be, never a crash on a bad
file; in-process on a built controller, then on a real `callflow run` subprocess."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest
import yaml
from support.process_log import ProcessLog

from controller import runner
from controller.reload import SettingsSource, reload_settings
from controller.simulator import Simulator

REPO = Path(__file__).resolve().parent.parent
LINE_TIMEOUT = 30.0


def _flow(reason: str) -> str:
    return f"name: {reason}\ngraph:\n  startNodeId: end\n  nodes:\n" + (
        f"    - {{id: end, type: hangup, config: {{reason: {reason}}}}}\n"
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "a.yaml").write_text(_flow("from-a"))
    (flows / "b.yaml").write_text(_flow("from-b"))
    config: dict[str, Any] = {
        "flows": str(flows),
        "records": str(tmp_path / "calls.jsonl"),
        "recordings": str(tmp_path / "recordings"),
        "listen": "127.0.0.1:0",
        "http_listen": "127.0.0.1:0",
        "esl": "",
        "routes": [{"match": "^1000$", "flow": "a"}],
    }
    return tmp_path / "callflow.yaml", config


def _write(path: Path, config: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(config))


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """A reload may reconfigure logging; put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_live_settings_apply_and_the_others_wait_for_a_restart(setup, caplog) -> None:
    path, config = setup
    _write(path, config)
    source = SettingsSource(config_file=path)
    controller = runner.build(source.load())
    before = controller.server.call_settings
    _write(
        path,
        {
            **config,
            "routes": [{"match": "^1000$", "flow": "b"}],
            "max_calls": 7,
            "command_timeout": 2.5,
            "listen": "127.0.0.1:9999",
            "esl_password": "s3cret",
        },
    )
    with caplog.at_level(logging.INFO, logger="callflow.reload"):
        result = reload_settings(controller, source)
    assert sorted(result.applied) == ["command_timeout", "max_calls", "routes"]
    assert sorted(result.needs_restart) == ["esl_password", "listen"]
    assert controller.flows.select({"destination_number": "1000"})[0] == "b"
    assert controller.server.settings.max_calls == 7
    assert controller.server.call_settings.command_timeout == 2.5
    assert before.command_timeout == 5.0  # calls in progress keep the object they started with
    assert controller.settings.listen == "127.0.0.1:0"  # what is really in use
    assert controller.settings.esl_password == "ClueCon"
    text = caplog.text
    assert "applied max_calls, command_timeout, routes" in text
    assert "only after a restart" in text and "listen, esl_password" in text
    assert "s3cret" not in text


def test_a_bad_settings_file_changes_nothing(setup, caplog) -> None:
    path, config = setup
    _write(path, config)
    source = SettingsSource(config_file=path)
    controller = runner.build(source.load())
    settings = controller.settings
    for bad, message in (
        ({**config, "max_calls": "lots"}, "max_calls (from " + str(path)),
        ({**config, "max_cals": 3}, f"{path}: unknown setting 'max_cals'"),
        ({**config, "routes": [{"match": "(", "flow": "a"}]}, "routes (from " + str(path)),
        ({**config, "log_level": "chatty"}, "log_level must be"),
    ):
        _write(path, bad)
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="callflow.reload"):
            result = reload_settings(controller, source)
        assert result.error and message in result.error
        [line] = caplog.records
        assert message in line.getMessage() and str(path) in line.getMessage()
        assert controller.settings is settings
    path.write_text("max_calls: [unclosed\n")
    assert reload_settings(controller, source).error.startswith(str(path))
    assert controller.flows.select({"destination_number": "1000"})[0] == "a"


def test_api_keys_apply_live_only_where_the_api_takes_them(setup, keep_logging) -> None:
    path, config = setup
    _write(path, config)
    source = SettingsSource(config_file=path)
    controller = runner.build(source.load())
    if "api_keys" not in type(controller.settings).__dataclass_fields__:
        pytest.skip("no api_keys setting in this tree")

    class Frozen:  # an API that reads its keys once
        pass

    class Live:
        def __init__(self) -> None:
            self.seen: list[Any] = []

        def apply_settings(self, settings: Any) -> None:
            self.seen.append(settings.api_keys)

    _write(path, {**config, "api_keys": ["k1"], "log_format": "json"})
    controller.http = type("Http", (), {"api": Frozen()})()  # type: ignore[assignment]
    result = reload_settings(controller, source)
    assert result.needs_restart == ["api_keys"] and "log_format" in result.applied
    assert controller.settings.api_keys == ()
    live = Live()
    controller.http = type("Http", (), {"api": live})()  # type: ignore[assignment]
    assert reload_settings(controller, source).applied == ["api_keys"]
    assert live.seen == [("k1",)] and controller.settings.api_keys == ("k1",)


def test_a_rescan_picks_up_new_and_changed_flows(setup) -> None:
    path, config = setup
    _write(path, config)
    source = SettingsSource(config_file=path)
    controller = runner.build(source.load())
    flows = Path(config["flows"])
    (flows / "c.yaml").write_text(_flow("from-c"))
    reload_settings(controller, source)
    assert controller.flows.get("c") is not None


# -- a real process ---------------------------------------------------------------------------


def _call(simulator: Simulator, records: Path) -> dict[str, Any]:
    call = simulator.place_call("silent", variables={"destination_number": "1000"})
    call.wait(LINE_TIMEOUT)  # closed: the controller writes the record before it closes
    return json.loads(records.read_text().splitlines()[-1])


def test_sighup_on_a_running_controller(setup) -> None:
    path, config = setup
    _write(path, config)
    records = Path(config["records"])
    process = subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "run", "--config", str(path)],
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("CALLFLOW_")},
    )
    stderr = ProcessLog(process)
    simulator = None
    try:
        port = int(stderr.wait_for(r"listening for FreeSWITCH on [\d.]+:(\d+)").group(1))
        http = int(stderr.wait_for(r"metrics and health on http://[\d.]+:(\d+)/").group(1))
        simulator = Simulator(("127.0.0.1", port))
        assert _call(simulator, records)["result"] == "from-a"

        # A good edit: the route moves to b, lines become JSON, the port change waits.
        _write(
            path,
            {
                **config,
                "routes": [{"match": "^1000$", "flow": "b"}],
                "log_format": "json",
                "listen": "127.0.0.1:1",
            },
        )
        process.send_signal(signal.SIGHUP)
        line = json.loads(stderr.wait_for(r"^\{.*settings reloaded from").string)
        assert "log_format" in line["message"] and "routes" in line["message"]
        assert "listen" in json.loads(stderr.wait_for(r"only after a restart").string)["message"]
        assert _call(simulator, records)["result"] == "from-b"

        # A broken file: logged with the file and the setting; the old settings keep serving.
        path.write_text(path.read_text().replace("esl: ''", "esl: ''\nmax_calls: lots"))
        process.send_signal(signal.SIGHUP)
        error = json.loads(stderr.wait_for(r"settings not reloaded").string)
        assert str(path) in error["message"] and "max_calls" in error["message"]
        assert error["level"] == "error"
        assert _call(simulator, records)["result"] == "from-b"
        ready = json.loads(urlopen(f"http://127.0.0.1:{http}/readyz", timeout=10).read())
        assert ready["ready"] is True
    finally:
        if simulator is not None:
            simulator.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
