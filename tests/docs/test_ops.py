"""The Grafana dashboard and the Prometheus alerting rules in docs/ops/ use only metrics that
callflow exports, and the rules file has the shape Prometheus loads."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from controller import metrics
from controller.programs import metrics as program_metrics  # registered in metrics.REGISTRY

OPS = Path(__file__).resolve().parents[2] / "docs" / "ops"
DASHBOARD = OPS / "grafana-callflow.json"
ALERTS = OPS / "prometheus-alerts.yaml"

# PromQL words that look like metric names: operators, modifiers, grouping keywords.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
KEYWORDS |= {"group_left", "group_right", "inf", "nan", "atan2"}
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
}
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
SEVERITIES = {"critical", "warning", "info"}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: what is left once strings, label matchers,
    ranges, grouping clauses, function calls, keywords and numbers are taken out."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    text = re.sub(r"\{[^{}]*\}", " ", text)  # label matchers (after strings: no brace inside)
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text
    )  # grouping label lists
    text = re.sub(r"\boffset\s+-?\w+", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # a Grafana variable outside a matcher or range
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function (rate, sum, histogram_quantile, ...)
        if match.group(0).lower() not in KEYWORDS:
            names.add(match.group(0))
    return names


def exported_series() -> set[str]:
    """Every series name controller.metrics exposes, suffixes included."""
    names = set()
    for family in metrics.REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def _dashboard_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _dashboard_panels(panel.get("panels", []))  # collapsed rows nest them


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [
        target["expr"]
        for panel in _dashboard_panels(dashboard["panels"])
        for target in panel.get("targets", [])
        if target.get("expr")
    ]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        found = re.fullmatch(r"label_values\((\w+),\s*\w+\)", text.strip())
        if found:
            exprs.append(found.group(1))
    return exprs


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _for_promtool(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return re.sub(r"\$\w+", ".*", expr)  # $flow, $instance: regex matchers


def test_the_extractor_finds_metric_names_and_nothing_else() -> None:
    assert metric_names(
        'histogram_quantile(0.95, sum by (le, app) (rate(a_bucket{app=~"x|y"}[5m])))'
    ) == {"a_bucket"}
    assert metric_names("sum(rate(a_total[$__rate_interval])) / sum(b) > 0.1 and on(x) c") == {
        "a_total",
        "b",
        "c",
    }
    assert metric_names('max by (flow) (d{flow=~"$flow"}) == 1 unless e offset 5m') == {"d", "e"}
    assert metric_names("1e3 * f") == {"f"}


def test_every_dashboard_and_alert_metric_is_exported() -> None:
    exported = exported_series()
    used = {
        name: source
        for source, exprs in (
            ("dashboard", dashboard_expressions()),
            ("alerts", [rule["expr"] for rule in alert_rules()]),
        )
        for expr in exprs
        for name in metric_names(expr)
    }
    assert used, "no metric found: the extractor or the files are broken"
    unknown = {name: source for name, source in used.items() if name not in exported}
    assert not unknown, f"not exported by controller.metrics: {unknown}"


def test_the_dashboard_shows_every_callflow_metric() -> None:
    used = {name for expr in dashboard_expressions() for name in metric_names(expr)}
    defined = [
        value._name
        for module in (metrics, program_metrics)
        for value in vars(module).values()
        if isinstance(value, MetricWrapperBase)  # callflow's own, not others'
    ]
    suffixes = {suffix for group in SUFFIXES.values() for suffix in group}
    missing = [name for name in defined if not used & {name + suffix for suffix in suffixes}]
    assert not missing, f"metrics with no panel in {DASHBOARD.name}: {missing}"


def test_the_dashboard_is_importable_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 30
    panels = list(_dashboard_panels(dashboard["panels"]))
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        refs = [target["refId"] for target in panel.get("targets", [])]
        assert len(set(refs)) == len(refs), panel["title"]


def test_the_alerts_file_is_a_prometheus_rule_file() -> None:
    document = yaml.safe_load(ALERTS.read_text())
    assert set(document) == {"groups"}
    names = [group["name"] for group in document["groups"]]
    assert len(set(names)) == len(names) and all(isinstance(n, str) and n for n in names)
    alerts = []
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "limit", "rules"}, group["name"]
        for rule in group["rules"]:
            assert set(rule) <= RULE_KEYS and {"alert", "expr"} <= set(rule), rule
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"]), rule["alert"]
            assert isinstance(rule["expr"], str) and rule["expr"].strip()
            assert "for" not in rule or DURATION.match(rule["for"]), rule["alert"]
            for key in ("labels", "annotations"):
                values = rule.get(key, {})
                assert isinstance(values, dict), rule["alert"]
                assert all(isinstance(v, str) for v in values.values()), rule["alert"]
            assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
            assert rule["annotations"].get("summary"), rule["alert"]
            alerts.append(rule["alert"])
    assert len(set(alerts)) == len(alerts)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules_and_every_dashboard_query(tmp_path: Path) -> None:
    checked = subprocess.run(
        ["promtool", "check", "rules", str(ALERTS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Each dashboard query, as a recording rule, so promtool parses its PromQL too.
    rules = [
        {"record": f"callflow:dashboard:{index}", "expr": _for_promtool(expr)}
        for index, expr in enumerate(dashboard_expressions())
    ]
    queries = tmp_path / "dashboard-rules.yaml"
    queries.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run(
        ["promtool", "check", "rules", str(queries)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
