"""The scheduled jobs as deploy/ ships them: systemd timers and services, the cron file,
and the scripts that run a job and raise the alert (docs/OPERATIONS.md)."""

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time as time_module
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
CRON = DEPLOY / "cron" / "lending"
APP_HOME = "/srv/lending"
ENV_FILE = "/etc/lending/lending.env"
ZONE = "Asia/Kolkata"
ALERT_TEMPLATE = "lending-alert@.service"
# Every job, and the ones whose failure must page someone.
JOBS = {"close_business_day", "reconcile", "purge_idempotency_keys", "purge_login_failures"}
PAGING = {"close_business_day", "reconcile"}
# Services that run all the time (no timer): the notification sender.
SERVICES = {"lending-send-notifications": "send_notifications"}


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values]}} (keys may repeat; comments dropped)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path.name}:{number}: {raw!r}"
        key, value = (part.strip() for part in line.split("=", 1))
        current.setdefault(key, []).append(value)
    return sections


def one(unit: dict, section: str, key: str) -> str:
    values = unit.get(section, {}).get(key, [])
    assert len(values) == 1, f"[{section}] {key}= should appear once, not {values}"
    return values[0]


def timers() -> dict[str, dict]:
    return {path.stem: parse_unit(path) for path in sorted(SYSTEMD.glob("*.timer"))}


def job_services() -> dict[str, dict]:
    return {
        path.stem: parse_unit(path)
        for path in sorted(SYSTEMD.glob("*.service"))
        if path.name != ALERT_TEMPLATE and path.stem not in SERVICES
    }


def manage_command(exec_start: str) -> str:
    """The manage.py command a service's ExecStart= runs."""
    match = re.fullmatch(rf"{APP_HOME}/\.venv/bin/python manage\.py (\S+)(?: .*)?", exec_start)
    assert match, f"ExecStart= should run {APP_HOME}/.venv/bin/python manage.py …: {exec_start}"
    return match[1]


def local_time(on_calendar: str) -> time:
    match = re.fullmatch(r"\*-\*-\* (\d\d):(\d\d):(\d\d) (\S+)", on_calendar)
    assert match, f"OnCalendar= should be a daily time with its zone: {on_calendar!r}"
    assert match[4] == ZONE, f"{on_calendar!r} is not in the lender's time zone {ZONE}"
    return time(int(match[1]), int(match[2]), int(match[3]))


# --- systemd --------------------------------------------------------------------------


def test_every_timer_starts_a_service_of_the_same_name_and_every_job_has_a_timer():
    assert set(timers()) == set(job_services())
    commands = {manage_command(one(s, "Service", "ExecStart")) for s in job_services().values()}
    assert commands == JOBS


@pytest.mark.parametrize("name", sorted(timers()))
def test_timers_run_daily_in_the_lenders_time_zone_and_catch_up_after_downtime(name):
    timer = timers()[name]

    local_time(one(timer, "Timer", "OnCalendar"))
    assert one(timer, "Timer", "Persistent") == "true"
    assert one(timer, "Install", "WantedBy") == "timers.target"
    assert timer["Timer"].get("Unit", [f"{name}.service"]) == [f"{name}.service"]


def test_the_close_runs_just_after_midnight_and_reconcile_after_it():
    close = local_time(one(timers()["lending-close-business-day"], "Timer", "OnCalendar"))
    reconcile = local_time(one(timers()["lending-reconcile"], "Timer", "OnCalendar"))
    reconcile_unit = job_services()["lending-reconcile"]

    assert time(0, 0) < close <= time(0, 30)
    assert close < reconcile
    after = " ".join(reconcile_unit["Unit"]["After"]).split()
    assert "lending-close-business-day.service" in after


def test_the_timers_zone_is_the_apps_time_zone():
    """The close's default --date is yesterday in TIME_ZONE: the timers must agree."""
    env_example = dict(
        line.split("=", 1)
        for line in (DEPLOY / "lending.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert env_example["TIME_ZONE"] == ZONE
    if "TIME_ZONE" not in os.environ:
        assert settings.TIME_ZONE == ZONE


@pytest.mark.parametrize("name", sorted(job_services()))
def test_job_services_run_a_manage_py_command_once_and_alert_on_failure(name):
    service = job_services()[name]

    assert manage_command(one(service, "Service", "ExecStart")) in get_commands()
    assert one(service, "Service", "Type") == "oneshot"
    assert one(service, "Service", "WorkingDirectory") == APP_HOME
    assert one(service, "Service", "EnvironmentFile") == ENV_FILE
    assert one(service, "Service", "User") != "root"
    assert one(service, "Unit", "OnFailure") == "lending-alert@%n.service"
    # Restart= would run the close again at once; finding the day closed, it would
    # succeed and the failure would never reach OnFailure=.
    assert "Restart" not in service["Service"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_the_sender_runs_always_is_restarted_and_pages_when_it_keeps_failing(name):
    service = parse_unit(SYSTEMD / f"{name}.service")

    exec_start = one(service, "Service", "ExecStart")
    assert manage_command(exec_start) == SERVICES[name]
    assert exec_start.endswith(" --loop")
    assert SERVICES[name] in get_commands()
    assert one(service, "Service", "Type") == "simple"
    assert one(service, "Service", "Restart") == "always"
    assert one(service, "Service", "WorkingDirectory") == APP_HOME
    assert one(service, "Service", "EnvironmentFile") == ENV_FILE
    assert one(service, "Service", "User") != "root"
    assert one(service, "Install", "WantedBy") == "multi-user.target"
    # Restarted on every exit, it fails (and pages) only when it keeps exiting.
    assert one(service, "Unit", "OnFailure") == "lending-alert@%n.service"
    assert int(one(service, "Unit", "StartLimitBurst")) > 1
    assert not (SYSTEMD / f"{name}.timer").exists()


def test_paging_jobs_are_the_close_and_reconcile():
    paging = {
        manage_command(one(s, "Service", "ExecStart"))
        for s in job_services().values()
        if "OnFailure" in s["Unit"]
    }
    assert paging >= PAGING


def test_the_alert_template_runs_the_alert_script_for_the_failed_unit():
    alert = parse_unit(SYSTEMD / ALERT_TEMPLATE)

    assert one(alert, "Service", "ExecStart") == f"{APP_HOME}/deploy/lending-alert --unit %i"
    assert one(alert, "Service", "EnvironmentFile") == f"-{ENV_FILE}"
    assert "OnFailure" not in alert["Unit"]  # an alert about the alert would loop


def _installable_copy(tmp_path: Path) -> Path:
    """The units with this checkout's paths, so that systemd-analyze can check them."""
    env_file = tmp_path / "lending.env"
    env_file.write_text("TIME_ZONE=Asia/Kolkata\n")
    units = tmp_path / "units"
    units.mkdir()
    for path in SYSTEMD.iterdir():
        text = path.read_text()
        text = text.replace(f"{APP_HOME}/.venv/bin/python", sys.executable)
        text = text.replace(ENV_FILE, str(env_file)).replace(APP_HOME, str(ROOT))
        (units / path.name).write_text(text)
    return units


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_units_without_a_warning(tmp_path):
    units = _installable_copy(tmp_path)
    names = sorted(str(path) for path in units.iterdir())

    result = subprocess.run(
        ["systemd-analyze", "verify", *names],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # unknown keys are only warnings
    for name, timer in timers().items():
        calendar = subprocess.run(
            ["systemd-analyze", "calendar", one(timer, "Timer", "OnCalendar")],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert calendar.returncode == 0, f"{name}: {calendar.stderr}"


# --- cron -----------------------------------------------------------------------------


def cron_entries() -> tuple[dict[str, str], list[tuple[str, list[str], str, list[str]]]]:
    """The cron file's variables and its entries: (line, time fields, user, command)."""
    variables, entries = {}, []
    for line in CRON.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if re.fullmatch(r"[A-Z_]+=.*", line):
            key, value = line.split("=", 1)
            variables[key] = value
            continue
        fields = line.split()
        assert len(fields) >= 7, f"cron.d lines need 5 time fields, a user and a command: {line}"
        entries.append((line, fields[:5], fields[5], fields[6:]))
    return variables, entries


def test_cron_runs_the_same_jobs_at_the_same_local_times_as_the_timers():
    variables, entries = cron_entries()
    by_command = {
        manage_command(one(service, "Service", "ExecStart")): local_time(
            one(timers()[name], "Timer", "OnCalendar")
        )
        for name, service in job_services().items()
    }

    assert variables["CRON_TZ"] == ZONE
    found, every_minute = {}, set()
    for line, (minute, hour, dom, month, dow), user, command in entries:
        assert (dom, month, dow) == ("*", "*", "*"), line
        assert user == "lending", line
        assert command[0] == f"{APP_HOME}/deploy/lending-job", line
        assert command[1] in get_commands(), line
        if (minute, hour) == ("*", "*"):
            every_minute.add(command[1])
        else:
            found[command[1]] = time(int(hour), int(minute))
    assert found == by_command
    # Without systemd, the sender runs once a minute instead of all the time.
    assert every_minute == set(SERVICES.values())


def test_cron_comments_give_the_right_utc_times():
    """For crons without CRON_TZ (Debian's): each entry's comment names its UTC time."""
    lines = CRON.read_text().splitlines()
    checked = 0
    for index, line in enumerate(lines):
        match = re.fullmatch(r"# (\d\d):(\d\d) IST = (\d\d):(\d\d) UTC.*", line)
        if not match:
            continue
        minute, hour = lines[index + 1].split()[:2]
        assert (int(hour), int(minute)) == (int(match[1]), int(match[2])), lines[index + 1]
        local = datetime(2026, 1, 15, int(hour), int(minute), tzinfo=ZoneInfo(ZONE))
        utc = local.astimezone(ZoneInfo("UTC"))
        assert (utc.hour, utc.minute) == (int(match[3]), int(match[4])), line
        day_before = utc.date() == local.date() - timedelta(days=1)
        assert day_before == ("the day before" in line), line
        checked += 1
    assert checked == len(JOBS)


# --- the scripts ----------------------------------------------------------------------


@pytest.mark.parametrize("script", ["lending-alert", "lending-job"])
def test_scripts_are_executable_posix_sh(script):
    path = DEPLOY / script

    assert os.access(path, os.X_OK)
    assert path.read_text().startswith("#!/bin/sh\n")
    assert subprocess.run(["sh", "-n", str(path)], capture_output=True).returncode == 0


def _alert(args, text, **env):
    return subprocess.run(
        [str(DEPLOY / "lending-alert"), *args],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], **env},
    )


TRICKY = 'loan 7 on 2026-01-05: DataError: "bad" \\ value\n\ttab and more\n'


def test_the_alert_goes_to_alert_command_with_its_subject(tmp_path):
    out = tmp_path / "alert.txt"

    result = _alert(
        ["close_business_day failed"],
        TRICKY,
        ALERT_COMMAND=f'{{ echo "$ALERT_SUBJECT"; cat; }} > {out}',
    )

    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "close_business_day failed"
    assert lines[1] == lines[0]  # the text starts with the subject too
    assert 'DataError: "bad" \\ value' in out.read_text()


def test_the_alert_posts_valid_json_to_the_webhook(tmp_path):
    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Content-Type"], body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        result = _alert(
            ["reconcile failed"],
            TRICKY,
            ALERT_WEBHOOK_URL=f"http://127.0.0.1:{server.server_port}/hook",
        )
        thread.join(timeout=30)
    finally:
        server.server_close()

    assert result.returncode == 0, result.stderr
    content_type, body = received[0]
    payload = json.loads(body)
    assert content_type == "application/json"
    assert payload["subject"] == "reconcile failed"
    assert payload["text"] == f"reconcile failed\n\n{TRICKY.rstrip()}"
    assert payload["host"]


def test_an_alert_with_no_channel_fails_loudly():
    result = _alert(["reconcile failed"], "details\n")

    assert result.returncode == 1
    assert "no ALERT_WEBHOOK_URL or ALERT_COMMAND" in result.stderr
    assert "NOT DELIVERED" in result.stderr and "details" in result.stderr


def test_an_alert_whose_channels_all_fail_fails(tmp_path):
    result = _alert(["reconcile failed"], "details\n", ALERT_COMMAND="exit 3")

    assert result.returncode == 1
    assert "ALERT_COMMAND failed" in result.stderr


def _job(tmp_path, exit_status: int, *args: str, wait: bool = False):
    """deploy/lending-job against a stand-in manage.py that prints its arguments (and,
    with ``wait``, says it started and waits for tmp_path/release)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "manage.py").write_text(
        "import os, pathlib, sys, time\n"
        "print('ran', *sys.argv[1:], os.environ.get('FROM_ENV_FILE'), flush=True)\n"
        "if os.environ.get('WAIT'):\n"
        f"    pathlib.Path({str(tmp_path)!r}, 'started').touch()\n"
        f"    while not pathlib.Path({str(tmp_path)!r}, 'release').exists():\n"
        "        time.sleep(0.05)\n"
        f"sys.exit({exit_status})\n"
    )
    env_file = tmp_path / "lending.env"
    alert_file = tmp_path / "alert.txt"
    env_file.write_text(
        f"FROM_ENV_FILE=yes\nALERT_COMMAND='{{ echo \"$ALERT_SUBJECT\"; cat; }} > {alert_file}'\n"
    )
    command = [str(DEPLOY / "lending-job"), *args]
    env = {
        "PATH": os.environ["PATH"],
        "LENDING_HOME": str(home),
        "LENDING_ENV_FILE": str(env_file),
        "LENDING_PYTHON": sys.executable,
        "LENDING_LOCK_DIR": str(tmp_path),
        **({"WAIT": "1"} if wait else {}),
    }
    if wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env), alert_file
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env), alert_file


def test_a_cron_job_that_succeeds_raises_no_alert(tmp_path):
    result, alert_file = _job(tmp_path, 0, "reconcile")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "ran reconcile yes\n"
    assert not alert_file.exists()


def test_a_cron_job_that_fails_raises_an_alert_with_its_output(tmp_path):
    result, alert_file = _job(tmp_path, 1, "close_business_day", "--chunk-size", "10")

    assert result.returncode == 1
    alert = alert_file.read_text()
    assert alert.splitlines()[0].startswith("lending close_business_day failed on ")
    assert "exit status 1" in alert.splitlines()[0]
    assert "ran close_business_day --chunk-size 10 yes" in alert
    assert "docs/OPERATIONS.md" in alert


def test_a_cron_job_still_running_is_left_alone_but_partitions_run_side_by_side(tmp_path):
    first, _ = _job(tmp_path, 0, "close_business_day", "--partition", "1/2", wait=True)
    try:
        for _ in range(600):
            if (tmp_path / "started").exists():
                break
            time_module.sleep(0.05)
        assert (tmp_path / "started").exists()

        again, _ = _job(tmp_path, 0, "close_business_day", "--partition", "1/2")
        other, _ = _job(tmp_path, 0, "close_business_day", "--partition", "2/2")
    finally:
        (tmp_path / "release").touch()
        output, _ = first.communicate(timeout=60)

    assert (again.returncode, again.stdout) == (0, "")  # skipped: the first still ran
    assert other.stdout == "ran close_business_day --partition 2/2 yes\n"
    assert first.returncode == 0
    assert output == "ran close_business_day --partition 1/2 yes\n"
