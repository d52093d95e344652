"""The demo's directory and child processes: it never wipes what is not its own, its
children see no secret, and stopping them reaches their whole process group."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest

from daemons.demo.children import Children
from daemons.demo.home import MARKER, DemoHomeError, demo_environment, fresh_home

pytestmark = pytest.mark.timeout(120)


def test_fresh_home_foreign_directory_is_refused_and_left_untouched(tmp_path) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(DemoHomeError, match="not a demo directory"):
        fresh_home(tmp_path)
    assert (tmp_path / "thesis.tex").read_text() == "years of work"


def test_fresh_home_previous_demo_directory_is_emptied_and_marked(tmp_path) -> None:
    home = fresh_home(tmp_path / "demo")
    (home / "logs").mkdir()
    (home / "logs" / "old.log").write_text("old")
    assert fresh_home(home) == home
    assert sorted(p.name for p in home.iterdir()) == [MARKER]


def test_demo_environment_holds_no_secret_and_no_other_database(tmp_path) -> None:
    environ = {"PATH": "/usr/bin", "GRIDBOT_MASTER_KEY": "k" * 44,
               "DATABASE_URL": "postgresql://u:p@db/x", "DAGSTER_HOME": "/elsewhere",
               "GRIDBOT_LOCAL_VENUE_URL": "http://127.0.0.1:1"}
    env = demo_environment(tmp_path, environ)
    assert env["GRIDBOT_HOME"] == str(tmp_path) and env["PATH"] == "/usr/bin"
    assert not {"GRIDBOT_MASTER_KEY", "DATABASE_URL", "DAGSTER_HOME",
                "GRIDBOT_LOCAL_VENUE_URL"} & set(env)


#: A child that starts a grandchild ignoring SIGTERM, then waits.
_PARENT = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
print("ready", flush=True)
time.sleep(600)
"""


def test_children_stop_all_leaves_no_grandchild_running(tmp_path) -> None:
    children = Children(tmp_path / "logs", {"PATH": "/usr/bin"})
    child = children.start("parent", ["-c", _PARENT], readable=True, program=[sys.executable])
    assert next(child.follow(timeout_s=30)) == "ready"
    time.sleep(0.3)  # the grandchild was started before "ready"
    family = [psutil.Process(child.process.pid),
              *psutil.Process(child.process.pid).children(recursive=True)]
    assert len(family) == 2
    children.stop_all()
    gone, alive = psutil.wait_procs(family, timeout=10)
    assert alive == [] and children.children == []
    assert "ready" in (tmp_path / "logs" / "parent.log").read_text()


def test_fresh_home_stops_what_a_killed_demo_left_running(tmp_path) -> None:
    home = fresh_home(tmp_path / "demo")
    orphan = Children(home / "logs", demo_environment(home)).start(
        "orphan", ["-c", "import time; time.sleep(600)"], program=[sys.executable])
    stranger = Children(tmp_path / "logs", {"PATH": "/usr/bin"}).start(
        "stranger", ["-c", "import time; time.sleep(600)"], program=[sys.executable])
    try:
        fresh_home(home)
        assert orphan.process.wait(30) is not None
        assert stranger.process.poll() is None, "a process of no demo was stopped"
    finally:
        for child in (orphan, stranger):
            child.process.kill()
            child.process.wait()


def test_children_ctrl_c_while_a_child_starts_still_stops_it(tmp_path, monkeypatch) -> None:
    """Ctrl-C right as a child is started (the interrupted-demo test hit this): the child
    is on the list when the interrupt arrives, so stop_all still stops it."""
    real_popen = subprocess.Popen

    def popen_then_ctrl_c(*args, **kwargs):
        process = real_popen(*args, **kwargs)
        signal.raise_signal(signal.SIGINT)  # arrives before start() has recorded it
        return process

    monkeypatch.setattr(subprocess, "Popen", popen_then_ctrl_c)
    children = Children(tmp_path / "logs", {"PATH": "/usr/bin"})
    ignored = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:  # (a pytest-xdist worker ignores SIGINT)
        with pytest.raises(KeyboardInterrupt):
            children.start("sleeper", ["-c", "import time; time.sleep(600)"],
                           program=[sys.executable])
    finally:
        signal.signal(signal.SIGINT, ignored)
    assert [c.name for c in children.children] == ["sleeper"]
    process = children.children[0].process
    children.stop_all()
    assert process.poll() is not None and children.children == []
