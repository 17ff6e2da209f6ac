"""deploy/: the systemd units verify, the alert rules load and pass their cases, the dashboard reads real metrics."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from axis.metrics import Metrics
from tests.support.tools import tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
AXIS = Path(sys.executable).with_name("axis")


def test_systemd_units_verify_and_are_hardened(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    units = sorted((DEPLOY / "systemd").iterdir())
    assert {u.name for u in units} >= {"axis.service", "axis-backup.service", "axis-backup.timer"}
    for unit in units:
        # The units name the venv of an installation; here the venv of this checkout stands in for it.
        text = unit.read_text().replace("/opt/axis/.venv/bin/axis", str(AXIS))
        (tmp_path / unit.name).write_text(text)
    proc = subprocess.run([analyze, "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr
    service = (DEPLOY / "systemd" / "axis.service").read_text()
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/axis", "User=axis",
                 "KillSignal=SIGINT", "CapabilityBoundingSet="):
        assert line in service.splitlines(), line


def test_systemd_verify_catches_a_misspelt_directive(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    bad = tmp_path / "bad.service"
    bad.write_text(f"[Service]\nExecStart={AXIS} serve\nProtectSystm=strict\n")
    proc = subprocess.run([analyze, "verify", str(bad)], capture_output=True, text=True, timeout=60)
    assert "Unknown key 'ProtectSystm'" in proc.stderr  # the check above would see the same mistake


def test_alert_rules_load_and_pass_their_cases() -> None:
    promtool = tool("promtool")
    here = DEPLOY / "prometheus"
    checked = subprocess.run([promtool, "check", "rules", "alerts.yml"], cwd=here, capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
    tested = subprocess.run([promtool, "test", "rules", "alerts_test.yml"], cwd=here, capture_output=True,
                            text=True, timeout=120)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr
    names = set(re.findall(r"- alert: (\w+)", (here / "alerts.yml").read_text()))
    assert {"AxisDeliveriesStuck", "AxisDeliveriesFailing", "AxisCertificateExpiring", "AxisJobFailing",
            "AxisJobNotRunning", "AxisAuditHeadTooOld", "AxisPushErrorsByAgency", "AxisDown", "AxisServerErrors"} <= names


def _exported() -> set[str]:
    """Every series name the axis's /metrics can show (from the TYPE lines, with histogram suffixes)."""
    names: set[str] = set()
    for line in Metrics().render().decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names


def _referenced(text: str) -> set[str]:
    return set(re.findall(r"\baxis_[a-z_]+\b", text))


def test_dashboard_and_alerts_use_only_metrics_the_axis_exports() -> None:
    exported = _exported()
    dashboard = json.loads((DEPLOY / "grafana" / "axis-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = _referenced(" ".join(exprs))
    assert len(dashboard["panels"]) >= 8 and used
    assert used <= exported, used - exported
    alerts = _referenced((DEPLOY / "prometheus" / "alerts.yml").read_text())
    assert alerts <= exported, alerts - exported
