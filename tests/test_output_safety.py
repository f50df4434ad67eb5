"""Nothing a user owns is ever lost (issue 13): `--force` deletes only what innosim wrote, a
replacement is all-or-nothing whenever the writer is killed, one writer per folder, no worker
outlives its parent, and an interruption says in one line what was written.

Each class of failure is tried for real: processes are killed with SIGKILL, SIGTERM and SIGINT
at random moments, two writers race for one folder, and a tmpfs is mounted (as root) for the
mount-point and read-only cases (skipped where mounting is not allowed).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.app.cli import main
from sim.experiments import atomic
from sim.experiments.atomic import STAMP, claim, foreign_entries, staged_folder
from sim.inputs.errors import InputError

pytestmark = pytest.mark.serial  # timing-sensitive: run alone (Makefile `test`)

SHORT = "name: short\ntime: {start_year: 2016, end_year: 2017}\nreplicates: 1\nscale: 0.02\n"
LONG = "name: long\ntime: {start_year: 2016, end_year: 2030}\nreplicates: 4\nscale: 0.05\n"


def _default_sigint() -> None:
    """In the child: Ctrl-C as in a terminal, even where the test runner was started in the
    background with SIGINT ignored (ignored signals are inherited)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def innosim(*args, cwd: Path, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **kw,
    )


def finish(proc: subprocess.Popen, timeout: float = 180) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_one_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    for n in needles:
        assert n in err, err


@pytest.fixture(scope="module")
def short_run(tmp_path_factory) -> Path:
    """A real result of `innosim run` (copied by the tests that change it)."""
    work = tmp_path_factory.mktemp("short")
    (work / "short.yaml").write_text(SHORT, encoding="utf-8")
    code, _, err = finish(innosim("run", "short.yaml", "--out", "out", "--quiet", cwd=work))
    assert code == 0, err
    return work / "out"


def _copy_run(short_run: Path, tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(short_run, tmp_path / "out")
    (tmp_path / "short.yaml").write_text(SHORT, encoding="utf-8")
    return tmp_path / "short.yaml", tmp_path / "out"


# ------------------------------------------------------------------------------------------------
# --force deletes only what innosim wrote
# ------------------------------------------------------------------------------------------------
def test_a_result_carries_its_stamp(short_run):
    assert (short_run / STAMP).is_file()
    assert foreign_entries(short_run) == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda out: (out / "thesis.tex").write_text("mine"), "thesis.tex"),
        (lambda out: (out / "plots" / "mine.png").write_bytes(b"x"), "plots/mine.png"),
        (lambda out: (out / "notes").mkdir() or (out / "notes" / "a.txt").write_text("x"), "a.txt"),
        (lambda out: (out / "report.md").write_text("my edits"), "changed since innosim wrote"),
        (lambda out: (out / STAMP).write_text("{}"), "indicators.csv"),  # a stamp not innosim's
        (lambda out: (out / STAMP).unlink(), "indicators.csv"),
        (lambda out: (out / "link").symlink_to("/etc"), "a link innosim did not make"),
    ],
    ids=["file", "file-in-subfolder", "folder", "edited", "fake-stamp", "no-stamp", "link"],
)
def test_force_refuses_a_folder_holding_what_innosim_did_not_write(
    short_run, tmp_path, capsys, change, named
):
    scenario, out = _copy_run(short_run, tmp_path)
    change(out)
    before = digest(out)
    code = main(["run", str(scenario), "--out", str(out), "--force", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert_one_line(err, "innosim did not write", named, "not replaced even with --force")
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "short.yaml"]


def test_force_replaces_a_result_that_is_wholly_innosims(short_run, tmp_path, capsys):
    scenario, out = _copy_run(short_run, tmp_path)
    (out / "facts.md").write_text("x")  # not stamped: refused
    assert main(["run", str(scenario), "--out", str(out), "--force", "--quiet"]) == 2
    (out / "facts.md").unlink()
    assert main(["run", str(scenario), "--out", str(out), "--force", "--quiet", "--seed", "7"]) == 0
    assert foreign_entries(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "short.yaml"]


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("small")
    (d / "base.yaml").write_text(SHORT, encoding="utf-8")
    (d / "spec.yaml").write_text(
        "base: base.yaml\nlevers: {ip_protection: {low: 0, high: 1}}\nsamples: 2\n"
        "replicates: 1\nscale: 0.02\n",
        encoding="utf-8",
    )
    argv = ["sweep", str(d / "spec.yaml"), "--out", str(d / "sweep"), "--workers", "1", "--quiet"]
    assert main(argv) == 0
    return d / "sweep"


def test_sweep_folder_with_its_own_comparison_and_analysis_is_replaceable(small_sweep, tmp_path):
    """Sub-results (DIR/comparison, DIR/analysis) are innosim's by their own stamps; a user's
    file inside one of them makes the whole sweep folder the user's."""
    spec = small_sweep.parent / "spec.yaml"
    folder = tmp_path / "sweep"
    shutil.copytree(small_sweep, folder)
    assert main(["compare", str(folder), "--points", "0", "1"]) == 0
    assert (folder / "comparison" / STAMP).is_file()
    assert foreign_entries(folder) == []
    (folder / "comparison" / "mine.txt").write_text("keep me")
    argv = ["sweep", str(spec), "--out", str(folder), "--force", "--quiet", "--workers", "1"]
    assert main(argv) == 2
    assert (folder / "comparison" / "mine.txt").read_text() == "keep me"
    (folder / "comparison" / "mine.txt").unlink()
    assert main(argv) == 0
    assert not (folder / "comparison").exists() and foreign_entries(folder) == []


def test_calibrate_never_writes_into_a_users_folder(tmp_path, capsys):
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "thesis.tex").write_text("keep me")
    code = main(
        ["calibrate", "--method", "smd", "--out", str(tmp_path), "--budget", "22", "--quiet"]
    )
    assert code == 2
    assert_one_line(capsys.readouterr().err, "search", "thesis.tex")
    assert sorted(p.name for p in (tmp_path / "search").iterdir()) == ["thesis.tex"]


# ------------------------------------------------------------------------------------------------
# all or nothing: a writer killed at any moment
# ------------------------------------------------------------------------------------------------
def _complete(out: Path) -> bool:
    """A whole result: stamped, nothing missing or changed, the marker present."""
    stamp = atomic._read_stamp(out)
    return (
        stamp is not None
        and (out / "indicators.csv").is_file()
        and foreign_entries(out) == []
        and all((out / f).is_file() for f in stamp["files"])
    )


def test_a_writer_killed_at_any_moment_leaves_the_old_or_the_new_result(short_run, tmp_path):
    scenario, out = _copy_run(short_run, tmp_path)
    old = digest(out)
    rng = random.Random(13)
    outcomes = {"old": 0, "new": 0}
    for i in range(8):
        proc = innosim(
            "run", scenario, "--out", out, "--force", "--quiet", "--seed", 100 + i, cwd=tmp_path
        )
        time.sleep(rng.uniform(0.5, 5.0))
        proc.kill()
        proc.wait()
        assert out.is_dir(), f"kill {i}: no result at all"
        now = digest(out)
        if now == old:
            outcomes["old"] += 1
        else:
            assert _complete(out), f"kill {i}: a mix of old and new: {sorted(now)}"
            outcomes["new"] += 1
            old = now
    # the next writer cleans up what the killed ones left, and says so
    proc = innosim("run", scenario, "--out", out, "--force", "--quiet", cwd=tmp_path)
    code, _, err = finish(proc)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "short.yaml"]
    assert sum(outcomes.values()) == 8


def test_two_rename_fallback_is_repaired_after_a_kill_between_the_renames(short_run, tmp_path):
    """Where the file system cannot exchange two folders, the old result is moved aside first;
    a writer killed right then leaves it under a backup name, which the next writer restores."""
    _, out = _copy_run(short_run, tmp_path)
    before = digest(out)
    backup = tmp_path / f".out{atomic.BACKUP}abcd1234"
    os.rename(out, backup)  # the state between the two renames
    (tmp_path / f".out{atomic.STAGING}efgh5678").mkdir()  # the new result, never put in place
    with claim(out, True):
        pass
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "short.yaml"]


def test_replacement_without_exchange(short_run, tmp_path, monkeypatch):
    _, out = _copy_run(short_run, tmp_path)
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    with staged_folder(out, "indicators.csv", kind="run") as tmp:
        (tmp / "indicators.csv").write_text("new")
    assert (out / "indicators.csv").read_text() == "new" and _complete(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "short.yaml"]


def test_a_failed_rename_leaves_the_old_result_and_says_so(short_run, tmp_path, monkeypatch):
    _, out = _copy_run(short_run, tmp_path)
    before = digest(out)

    def busy(tmp, dest):
        raise OSError(16, "Device or resource busy")

    monkeypatch.setattr(atomic, "_put_in_place", busy)
    with pytest.raises(InputError, match="earlier result is unchanged"):
        with staged_folder(out, "indicators.csv", kind="run") as tmp:
            (tmp / "indicators.csv").write_text("new")
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "short.yaml"]


@pytest.fixture
def tmpfs(tmp_path):
    """A real mount point (tmpfs), or skip where mounting is not allowed."""
    point = tmp_path / "volume"
    point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "innosim-test", str(point)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_mount_point_is_refused_before_work_and_its_contents_survive(tmpfs, tmp_path, capsys):
    (tmpfs / "data.csv").write_text("keep me")
    scenario = tmp_path / "short.yaml"
    scenario.write_text(SHORT, encoding="utf-8")
    code = main(["run", str(scenario), "--out", str(tmpfs), "--force", "--quiet"])
    assert code == 2
    assert_one_line(capsys.readouterr().err, "mount point", "give a folder inside it")
    assert sorted(p.name for p in tmpfs.iterdir()) == ["data.csv"]
    # a folder inside it works
    assert main(["run", str(scenario), "--out", str(tmpfs / "result"), "--quiet"]) == 0
    assert _complete(tmpfs / "result")


def test_a_read_only_place_is_refused_before_the_simulation(tmpfs, tmp_path, capsys):
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    scenario = tmp_path / "short.yaml"
    scenario.write_text(SHORT, encoding="utf-8")
    t0 = time.perf_counter()
    code = main(["run", str(scenario), "--out", str(tmpfs / "a" / "b"), "--quiet"])
    assert code == 2 and time.perf_counter() - t0 < 5
    assert_one_line(capsys.readouterr().err, "cannot write in", str(tmpfs))


# ------------------------------------------------------------------------------------------------
# one writer per folder
# ------------------------------------------------------------------------------------------------
def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from sim.experiments.atomic import claim\n"
            f"with claim({str(out)!r}, False):\n    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        scenario = tmp_path / "short.yaml"
        scenario.write_text(SHORT, encoding="utf-8")
        code = main(["run", str(scenario), "--out", str(out), "--quiet"])
        assert code == 2
        assert_one_line(capsys.readouterr().err, "another innosim process", str(holder.pid))
    finally:
        holder.kill()
        holder.wait()
    # the lock dies with its holder, however it ends
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 0


@pytest.mark.parametrize("force", [False, True])
def test_two_writers_at_once_one_wins_cleanly(tmp_path, force):
    (tmp_path / "short.yaml").write_text(SHORT, encoding="utf-8")
    args = ["run", "short.yaml", "--out", "out", "--quiet", *(["--force"] if force else [])]
    procs = [innosim(*args, "--seed", s, cwd=tmp_path) for s in (1, 2)]
    results = [finish(p) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results
    err = next(r[2] for r in results if r[0] == 2)
    assert_one_line(err)
    assert "another innosim process" in err or "exists" in err, err
    assert _complete(tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "short.yaml"]


# ------------------------------------------------------------------------------------------------
# no worker outlives its parent; an interruption says what was written
# ------------------------------------------------------------------------------------------------
def _children(pid: int) -> set[int]:
    kids = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.add(int(d.name))
    return kids


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(p)
    return alive


def _wait_for_children(proc, n: int, timeout: float = 60) -> set[int]:
    end = time.time() + timeout
    while time.time() < end:
        kids = _children(proc.pid)
        if len(kids) >= n:
            return kids
        time.sleep(0.05)
    raise AssertionError(f"{n} worker processes did not start")


def _gone_within(pids: set[int], seconds: float) -> set[int]:
    end = time.time() + seconds
    while _alive(pids) and time.time() < end:
        time.sleep(0.1)
    return _alive(pids)


@pytest.fixture
def long_inputs(tmp_path):
    (tmp_path / "long.yaml").write_text(LONG, encoding="utf-8")
    (tmp_path / "spec.yaml").write_text(
        "base: long.yaml\nlevers: {ip_protection: {low: 0, high: 1}}\nsamples: 6\n"
        "replicates: 2\nscale: 0.05\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_killed_parent_leaves_no_workers(long_inputs, command, sig):
    work = long_inputs
    args = (
        ["run", "long.yaml", "--workers", "2"] if command == "run" else ["sweep", "spec.yaml"]
    ) + ["--out", "out", "--quiet", "--workers", "2"]
    proc = innosim(*args, cwd=work)
    kids = _wait_for_children(proc, 2)
    time.sleep(1.0)
    kids |= _children(proc.pid)
    proc.send_signal(sig)
    code, _, err = finish(proc, timeout=30)
    left = _gone_within(kids, 5)
    assert not left, f"workers {left} outlived their parent"
    if sig == signal.SIGTERM:
        assert code == 143
        assert_one_line(err, "innosim: terminated;")
        if command == "run":
            assert "no output written" in err and not (work / "out").exists()
        elif (work / "out").exists():
            assert "runs are stored in out" in err and "--resume" in err
    leftovers = [p.name for p in work.iterdir() if p.name.startswith(".")]
    if sig == signal.SIGTERM:
        assert leftovers == []  # cleaned by the parent itself
    else:  # cleaned (and reported) by the next writer
        rerun = finish(innosim(*args, "--force", cwd=work))
        assert rerun[0] == 0 or "resume" in rerun[2], rerun
        assert [p.name for p in work.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("delay", [0.2, 0.6, 1.2, 2.5])
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_ctrl_c_while_workers_start_is_one_truthful_line(long_inputs, command, delay):
    """Ctrl-C in a terminal signals the whole process group, workers included."""
    work = long_inputs
    args = (["run", "long.yaml"] if command == "run" else ["sweep", "spec.yaml"]) + [
        "--out",
        "out",
        "--quiet",
        "--workers",
        "2",
    ]
    proc = innosim(*args, cwd=work, start_new_session=True, preexec_fn=_default_sigint)
    time.sleep(delay)
    kids = _children(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    code, _, err = finish(proc, timeout=60)
    # 130, or killed by SIGINT: CPython ends that way when the signal fell inside an exec call
    # of a library being imported, even though innosim caught it (both read as 130 in a shell)
    assert code in (130, -signal.SIGINT), err
    assert_one_line(err, "innosim: interrupted;")
    if (work / "out").exists():
        assert command == "sweep" and "runs are stored in out" in err, err
    else:
        assert "no output written" in err, err
    assert not _gone_within(kids | _children(proc.pid), 5)
    assert [p.name for p in work.iterdir() if p.name.startswith(".")] == []


def test_a_worker_whose_parent_leaves_mid_handshake_ends_without_a_traceback():
    """The race behind a stray traceback under the one-line message: Ctrl-C lands while the
    parent is still writing a new worker's start-up data, the pipe closes, and the worker's
    bootstrap reads EOF. The wrapped bootstrap ends it quietly; the bare one prints a traceback."""
    import multiprocessing.spawn

    from sim.experiments.executors import _quiet_bootstrap

    def start(argv: list[str]) -> subprocess.CompletedProcess:
        read, write = os.pipe()
        os.close(write)  # the parent is gone before it sent anything
        argv = [a.replace("PIPE", str(read)) for a in argv]
        try:
            return subprocess.run(
                argv, pass_fds=(read,), capture_output=True, text=True, timeout=60
            )
        finally:
            os.close(read)

    bare = multiprocessing.spawn.get_command_line(pipe_handle=0)
    bare = [os.fsdecode(a).replace("pipe_handle=0", "pipe_handle=PIPE") for a in bare]
    loud, quiet = start(bare), start(_quiet_bootstrap(bare))
    assert "EOFError" in loud.stderr  # the race is real without the wrapper
    assert (quiet.returncode, quiet.stderr) == (1, "")


@pytest.mark.parametrize("started", [False, True])
def test_ctrl_c_before_the_handlers_are_installed_is_one_line(monkeypatch, capsys, started):
    """The race a fresh checkout showed (modules load slowly without their bytecode): Ctrl-C
    while the command line is still starting, before it installs its own handlers, used to end
    in a KeyboardInterrupt traceback. It is one line, and says nothing was written only when no
    command had started its work."""
    import sim.__main__ as entry
    from sim.app import cli

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "DISPATCHED", started)
    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert entry.run() == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "innosim: interrupted" + ("" if started else "; no output written")
    ]


# ------------------------------------------------------------------------------------------------
# a scheduler that cannot be used: found fast, before anything is written
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def silent_server():
    """A loopback port that accepts connections and never answers (not a Dask scheduler)."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.mark.parametrize(
    ("address", "says", "seconds"),
    [
        ("tcp://127.0.0.1:1", "nothing answers", 3),
        ("foo", "expected an address like tcp://HOST:8786", 3),
        ("tcp://127.0.0.1:99999", "a host and a port from 1 to 65535", 3),
        ("tcp://127.0.0.1:87x", "expected an address", 3),
        ("tcp://[::1", "expected an address", 3),
        ("tcp://:8786", "expected an address", 3),
        ("tls://127.0.0.1:1", "cannot use the Dask scheduler", 3),
        ("inproc://x", "cannot use the Dask scheduler", 3),
        ("silent", "cannot use the Dask scheduler", 12),
    ],
)
def test_an_unusable_scheduler_is_refused_fast_and_nothing_is_written(
    tmp_path, capsys, silent_server, address, says, seconds
):
    pytest.importorskip("distributed")
    (tmp_path / "base.yaml").write_text(SHORT, encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "base: base.yaml\nlevers: {ip_protection: {low: 0, high: 1}}\nsamples: 2\nreplicates: 1\n",
        encoding="utf-8",
    )
    address = silent_server if address == "silent" else address
    t0 = time.perf_counter()
    code = main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--scheduler", address])
    took = time.perf_counter() - t0
    assert code == 2
    assert_one_line(capsys.readouterr().err, "--scheduler", says)
    assert took < seconds, f"{took:.1f} s"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.yaml", "spec.yaml"]


def test_calibrate_too_many_runs_is_refused_before_anything_is_written(tmp_path, capsys):
    argv = ["calibrate", "--method", "smd", "--out", str(tmp_path / "cal"), "--budget", "100000"]
    argv += ["--replicates", "4"]
    assert main([*argv, "--quiet"]) == 2
    assert_one_line(capsys.readouterr().err, "--budget", "400,000 runs")
    assert not (tmp_path / "cal").exists()


def test_ctrl_c_during_calibration_is_one_line_and_leaves_no_worker(tmp_path):
    """pyabc forks its workers with innosim's signal handlers: before they were reset, each
    worker printed a KeyboardInterrupt traceback under the one-line message."""
    pytest.importorskip("pyabc")
    args = ["calibrate", "--out", "cal", "--population", "20", "--generations", "2"]
    args += ["--scale", "0.02", "--workers", "2", "--quiet"]
    proc = innosim(*args, cwd=tmp_path, start_new_session=True, preexec_fn=_default_sigint)
    db = tmp_path / "cal" / "search" / "smc" / "abc.db"
    deadline = time.monotonic() + 120
    while not db.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert db.exists(), "the calibration did not start"
    time.sleep(3.0)  # the particles are being simulated in the workers
    kids = _children(proc.pid)
    assert kids, "no worker processes"
    os.killpg(proc.pid, signal.SIGINT)
    code, _, err = finish(proc, timeout=60)
    assert code in (130, -signal.SIGINT), err
    assert_one_line(err, "innosim: interrupted;")
    assert not _gone_within(kids, 5)
