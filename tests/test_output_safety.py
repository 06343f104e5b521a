"""The output-directory rule (sim/outputs.py, docs/outputs.md): bordersim never deletes or overwrites what it did
not make, and `--force` replaces only a directory of the same kind that bordersim made. Every case runs against a
scratch directory and checks that every file is still there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, TOY, users_file

from sim.cli import main
from sim.errors import UsageError, WriteFailed
from sim.outputs import MARKER, atomic_write_text, check_name, claim_dir, new_dir, remove_owned, write_marker

SMALL = ["--set", "population.size=500", "--quiet"]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _run(capsys, *args) -> tuple[int, str]:
    rc = main(["run", str(TOY), *args])
    return rc, capsys.readouterr().err


def test_force_never_deletes_a_directory_bordersim_did_not_make(tmp_path, capsys):
    thesis = tmp_path / "proj" / "thesis"
    thesis.mkdir(parents=True)
    (thesis / "ch1.tex").write_text("chapter one")
    before = _snapshot(tmp_path)
    for extra in ([], ["--force"]):
        rc, err = _run(capsys, "--out", str(thesis), *SMALL, *extra)
        assert rc == 2 and "not made by bordersim" in err and "Traceback" not in err
        assert _snapshot(tmp_path) == before


def test_force_never_deletes_a_git_clone(tmp_path, capsys):
    clone = tmp_path / "clone"
    subprocess.run(["git", "init", "-q", str(clone)], check=True)
    (clone / "README.md").write_text("work")
    before = _snapshot(tmp_path)
    rc, err = _run(capsys, "--out", str(clone), *SMALL, "--force")
    assert rc == 2 and "not made by bordersim" in err
    assert _snapshot(tmp_path) == before and (clone / ".git").is_dir()


def test_root_home_cwd_and_its_parents_are_refused(tmp_path, capsys, monkeypatch):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (work / "notes.txt").write_text("keep")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "a"))
    before = _snapshot(tmp_path)
    for out, why in [("/", "root of the file system"), (".", "current directory"), ("..", "home directory"),
                     (str(tmp_path), "contains the current directory"), ("~", None)]:
        target = os.path.expanduser(out) if out == "~" else out
        rc, err = _run(capsys, "--out", target, *SMALL, "--force")
        assert rc == 2, (out, err)
        assert "refusing to write here" in err, err
        if why:
            assert why in err, err
    assert _snapshot(tmp_path) == before


def test_a_file_as_out_is_refused_and_left_alone(tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("numbers")
    rc, err = _run(capsys, "--out", str(target), *SMALL, "--force")
    assert rc == 2 and "not a directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.txt"] and target.read_text() == "numbers"


def test_a_directory_of_another_kind_is_refused(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / MARKER).write_text(json.dumps({"kind": "sweep"}))
    (sweep / "runs.parquet").write_text("x")
    before = _snapshot(tmp_path)
    rc, err = _run(capsys, "--out", str(sweep), *SMALL, "--force")
    assert rc == 2 and "sweep directory, not a run directory" in err
    assert _snapshot(tmp_path) == before


def test_a_run_directory_is_replaced_only_with_force_and_nothing_else_is_touched(tmp_path, capsys):
    out = tmp_path / "run"
    (tmp_path / "neighbour.txt").write_text("n")
    assert _run(capsys, "--out", str(out), *SMALL)[0] == 0
    first = _snapshot(out)
    rc, err = _run(capsys, "--out", str(out), *SMALL, "--seed", "5")
    assert rc == 2 and "--force" in err and _snapshot(out) == first
    assert _run(capsys, "--out", str(out), *SMALL, "--seed", "5", "--force")[0] == 0
    assert _snapshot(out) != first and (out / MARKER).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neighbour.txt", "run"]


def test_an_empty_directory_may_be_used(tmp_path, capsys):
    out = tmp_path / "empty"
    out.mkdir()
    assert _run(capsys, "--out", str(out), *SMALL)[0] == 0
    assert (out / "summary.json").exists()


def test_unsafe_names_are_refused():
    for bad in ["/", "..", "../..", "a/b", ".hidden", "", "x" * 81, "name with space", "name\n"]:
        with pytest.raises(ValueError):
            check_name(bad)
    assert check_name("korea_2024-v1.2") == "korea_2024-v1.2"


@pytest.mark.parametrize("name", ["../../escape", "toy\\n"])
def test_a_scenario_named_with_a_path_is_refused(tmp_path, capsys, monkeypatch, name):
    """A name ending in a newline passed the check ("$" matches before it): `validate` said ok and `run` ended
    with an internal failure, exit 1, making its default directory results/<name>-<time> (a probe)."""
    monkeypatch.chdir(tmp_path)
    text = TOY.read_text().replace("name: toy", f'name: "{name}"')
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text)
    for command in ("validate", "run"):
        rc = main([command, str(scenario), "--quiet"] if command == "run" else [command, str(scenario)])
        err = capsys.readouterr().err
        assert rc == 2 and "key 'name'" in err and "not a valid name" in err, err
    assert not (tmp_path.parent / "escape").exists() and not (tmp_path / "results").exists()


def test_a_long_legal_out_works_and_a_too_long_one_is_a_message(tmp_path, capsys):
    long = tmp_path / ("r" * 250)
    assert _run(capsys, "--out", str(long), *SMALL)[0] == 0
    assert (long / "summary.json").exists()
    rc, err = _run(capsys, "--out", str(tmp_path / ("r" * 300)), *SMALL)
    assert rc == 2 and "longer than the file system allows" in err


def test_an_unwritable_place_is_refused_before_the_run(capsys):
    rc, err = _run(capsys, "--out", "/sys/bordersim-test-run", *SMALL)
    assert rc == 2 and "cannot write in /sys" in err and "Traceback" not in err


def test_a_failed_write_leaves_the_old_directory_and_no_temporary(tmp_path):
    out = tmp_path / "run"
    with new_dir(out, "run", ["a.txt"]) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with new_dir(out, "run", ["a.txt"], force=True) as tmp:
            (tmp / "a.txt").write_text("new")
            raise RuntimeError("disk full half-way")
    assert (out / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]



@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_failed_write_removes_the_parents_it_made_and_keeps_any_in_use(tmp_path, error):
    """`run --out new/deeper/r` made new/deeper for the run and left them behind when the write failed (a probe).
    They are removed again, each while empty; one the user put a file in meanwhile is kept."""
    out = tmp_path / "new" / "deeper" / "r"
    with pytest.raises(error):
        with new_dir(out, "run", ["a.txt"]) as tmp:
            (tmp / "a.txt").write_text("new")
            raise error("disk full half-way")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(error):
        with new_dir(out, "run", ["a.txt"]):
            (tmp_path / "new" / "mine.txt").write_text("the user's")
            raise error("disk full half-way")
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["new", "new/mine.txt"]


def test_a_failed_write_removes_only_the_parents_this_command_made(tmp_path, monkeypatch):
    """The parents to remove were those missing before the write: one another process made meanwhile was removed
    too, and a mkdir that failed part-way (a full disk) left the levels above behind (a review)."""
    import errno

    real_mkdir = os.mkdir
    out = tmp_path / "new" / "deeper" / "r"

    def another_makes_new_first(path, *args, **kwargs):
        if Path(path) == tmp_path / "new":
            real_mkdir(path)  # another process, between the look and this mkdir
            raise FileExistsError(errno.EEXIST, "File exists", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", another_makes_new_first)
    with pytest.raises(RuntimeError):
        with new_dir(out, "run", ["a.txt"]):
            raise RuntimeError("disk full half-way")
    monkeypatch.setattr(os, "mkdir", real_mkdir)
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob("*")] == [Path("new")]  # theirs, kept
    (tmp_path / "new").rmdir()

    def disk_full_below_new(path, *args, **kwargs):
        if Path(path) == tmp_path / "new" / "deeper" and (tmp_path / "new").is_dir():  # after new/ was made
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", disk_full_below_new)
    with pytest.raises(WriteFailed):
        with new_dir(out, "run", ["a.txt"]):
            pass
    assert list(tmp_path.iterdir()) == []

def test_a_ctrl_c_between_the_renames_of_a_forced_replacement_leaves_the_new_directory(tmp_path, monkeypatch,
                                                                                        ctrl_c_between_the_renames):
    """--force swaps the new directory in by two renames; a Ctrl-C between them left neither at OUT (the old one
    in a temporary that is removed later, the new one removed at once). It is now raised after the swap."""
    out = tmp_path / "run"
    with new_dir(out, "run", ["a.txt"]) as tmp:
        (tmp / "a.txt").write_text("old")
    ctrl_c_between_the_renames()
    with pytest.raises(KeyboardInterrupt):
        with new_dir(out, "run", ["a.txt"], force=True) as tmp:
            (tmp / "a.txt").write_text("new")
    monkeypatch.undo()
    assert (out / "a.txt").read_text() == "new"


def _left_after_a_later_process(parent: Path) -> list[str]:
    """The temporaries in `parent` once another process has written beside it (`make_temp_dir` cleans first)."""
    code = ("import shutil, sys; from pathlib import Path; from sim.outputs import make_temp_dir; "
            "shutil.rmtree(make_temp_dir(Path(sys.argv[1])))")
    subprocess.run([sys.executable, "-c", code, str(parent)], check=True)
    return sorted(p.name for p in parent.iterdir() if p.name.endswith(".tmp"))


# A process that replaces run directory argv[1] with --force (`new_dir`), a Ctrl-C landing at the argv[2]-th file
# or directory deletion from the swap on (none when there are fewer); it prints "interrupted" or "whole".
REPLACE_CUT = """
import os, sys
from pathlib import Path
from sim.outputs import new_dir, write_marker
out, cut, steps = Path(sys.argv[1]), int(sys.argv[2]), [0]

def counted(real):
    def step(*args, **kwargs):
        steps[0] += 1
        if steps[0] == cut:
            raise KeyboardInterrupt
        return real(*args, **kwargs)
    return step

try:
    with new_dir(out, "run", ["a.txt"], force=True) as tmp:
        (tmp / "a.txt").write_text(f"run {cut}")
        (tmp / "figures").mkdir()
        write_marker(tmp / "figures", "figures")
        os.unlink, os.rmdir = counted(os.unlink), counted(os.rmdir)
    print("whole")
except KeyboardInterrupt:
    print("interrupted")
"""


def test_a_ctrl_c_while_a_replaced_directory_is_deleted_leaves_what_a_later_process_removes(tmp_path):
    """Once --force has swapped a new run in, the old one is deleted; a Ctrl-C then could leave a temporary whose
    marker had gone first, which no later process removed (a probe: 6 of 45 timed interrupts). Interrupted at
    each step of the deletion in turn, the new run is in place and what is left goes with the next process that
    writes beside it."""
    out = tmp_path / "run"
    with new_dir(out, "run", ["a.txt"]) as tmp:  # and a figures directory, as `bordersim plot` makes
        (tmp / "a.txt").write_text("first")
        (tmp / "figures").mkdir()
        write_marker(tmp / "figures", "figures")
    for cut in range(1, 20):
        ended = subprocess.run([sys.executable, "-c", REPLACE_CUT, str(out), str(cut)], capture_output=True,
                               text=True, check=True).stdout.strip()
        assert (out / "a.txt").read_text() == f"run {cut}"
        assert _left_after_a_later_process(tmp_path) == [], cut
        if ended == "whole":
            break
    assert ended == "whole" and cut > 5  # the deletion was cut at each of its steps: files, directories, marker


# A process that writes a new run directory argv[1] (`new_dir`), a Ctrl-C coming just after the argv[2]-th
# temporary directory is created (none when there are fewer); it prints "interrupted" or "whole".
MAKE_CUT = """
import os, signal, sys, tempfile
from pathlib import Path
from sim.outputs import new_dir
real_mkdtemp, made = tempfile.mkdtemp, [0]

def mkdtemp_then_ctrl_c(*args, **kwargs):
    path = real_mkdtemp(*args, **kwargs)
    made[0] += 1
    if made[0] == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGINT)
    return path

tempfile.mkdtemp = mkdtemp_then_ctrl_c
try:
    with new_dir(Path(sys.argv[1]), "run", ["x"]) as tmp:
        (tmp / "x").write_text("x")
    print("whole")
except KeyboardInterrupt:
    print("interrupted")
"""


def test_a_ctrl_c_just_after_a_temporary_directory_is_made_leaves_none(tmp_path):
    """A Ctrl-C just after a temporary directory was created (to check that OUT's place is writable, or to build
    the run in) left an empty, unmarked `.bordersim-*.tmp` that no later process removed (a probe: 3 of 40
    timed interrupts). Each is now made with the signal held, and an empty one of a dead process is removed."""
    for cut in range(1, 10):
        ended = subprocess.run([sys.executable, "-c", MAKE_CUT, str(tmp_path / "run"), str(cut)],
                               capture_output=True, text=True, check=True).stdout.strip()
        assert _left_after_a_later_process(tmp_path) == [], cut
        if ended == "whole":
            break
        assert ended == "interrupted" and not (tmp_path / "run").exists()
    assert ended == "whole" and cut > 2 and (tmp_path / "run" / "x").read_text() == "x"


def test_an_atomic_write_that_fails_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    atomic_write_text(target, "good")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(WriteFailed, match="No space left"):
        atomic_write_text(target, "fragment")
    assert target.read_text() == "good" and sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_stale_temporaries_of_dead_processes_are_cleaned_and_live_ones_kept(tmp_path):
    proc = subprocess.Popen(["true"])
    proc.wait()
    stale = tmp_path / f".bordersim-{proc.pid}-abc.tmp"
    stale.mkdir()
    (stale / MARKER).write_text('{"kind": "temporary", "made_by": "bordersim"}\n')  # as make_temp_dir writes it
    (stale / "summary.json").write_text("half")
    live = tmp_path / f".bordersim-{os.getpid()}-def.tmp"
    live.mkdir()
    mine = tmp_path / ".something-else.tmp"
    mine.mkdir()
    yours = tmp_path / f".bordersim-{proc.pid}-yours.tmp"  # a directory of the user's bearing such a name
    yours.mkdir()
    (yours / "notes.txt").write_text("mine")
    newline = tmp_path / f".bordersim-{proc.pid}-abc.tmp\n"  # not such a name: "$" matched before the newline
    newline.write_text("mine")
    with new_dir(tmp_path / "run", "run", ["x"]) as tmp:
        (tmp / "x").write_text("x")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert stale.name not in names and live.name in names and mine.name in names and "run" in names
    assert (yours / "notes.txt").read_text() == "mine" and newline.read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [MARKER, "x"]
    assert json.loads((tmp_path / "run" / MARKER).read_text())["kind"] == "run"


def test_remove_owned_refuses_what_is_not_ours(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x").write_text("x")
    with pytest.raises(UsageError):
        remove_owned(foreign, "sweep")
    assert (foreign / "x").exists()
    with pytest.raises(UsageError):
        claim_dir(foreign, "run", force=True)


def test_debug_works_after_the_subcommand_and_version_is_printed(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("bordersim ")
    thesis = tmp_path / "t"
    thesis.mkdir()
    (thesis / "f").write_text("x")
    assert main(["run", str(TOY), "--out", str(thesis), "--debug"]) == 2  # bad input, with the traceback
    err = capsys.readouterr().err
    assert "Traceback" in err and "UsageError" in err and f"error: {thesis}" in err
    assert (thesis / "f").read_text() == "x"


def test_a_path_through_a_missing_directory_and_dotdot_names_what_it_reaches(tmp_path, capsys, monkeypatch):
    """'new/../thesis' is the existing ./thesis: refused as such, and 'new' is not created."""
    monkeypatch.chdir(tmp_path)
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "ch1.tex").write_text("mine")
    rc, err = _run(capsys, "--out", "new/../thesis", *SMALL, "--force")
    assert rc == 2 and "not made by bordersim" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"] and (thesis / "ch1.tex").read_text() == "mine"


def test_reopening_a_sweep_removes_only_bordersims_own_temporaries(tmp_path):
    from conftest import ROOT

    from sim.experiments.spec import load_spec
    from sim.experiments.store import SweepStore

    ls = load_spec(ROOT / "experiments" / "toy_sweep.yaml")
    root = tmp_path / "sweep"
    SweepStore.open(root, ls).close()
    ours = root / "runs" / ".bordersim-1-abc.tmp"
    legacy = root / "runs" / ".p00001-r0000.json.k3.tmp"
    users = root / ".notes.tmp"
    for p in (ours, legacy, users):
        p.write_text("x")
    SweepStore.open(root, ls).close()
    assert not ours.exists() and not legacy.exists() and users.read_text() == "x"


def test_directories_whose_names_look_like_uri_schemes_are_read_back(tmp_path, capsys, monkeypatch):
    """pyarrow reads a path 'res:1/...' as a URI of scheme 'res': such a run directory was written, then every
    command reading it called its intact time series damaged. Parquet files are now read through a file object."""
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(TOY), "--out", "res:1", "--set", "population.size=2000", "--quiet"]) == 0
    assert main(["plot", "res:1", "--only", "flows", "--out", "figs"]) == 0
    assert main(["compare", "res:1", "res:1"]) == 0
    err = capsys.readouterr().err
    assert "damaged" not in err, err


@pytest.mark.parametrize("target", ["a run directory", "an empty directory"])
def test_an_out_that_is_a_symbolic_link_is_refused_and_kept(tmp_path, capsys, target):
    """The rename that puts a new directory in place replaced the link itself (the user's file) with a real
    directory, with --force over a linked run directory, or at once over a link to an empty one."""
    real = tmp_path / "real"
    if target == "a run directory":
        assert main(["run", str(TOY), "--out", str(real), "--set", "population.size=2000", "--quiet"]) == 0
    else:
        real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    before = {p: p.read_bytes() for p in real.rglob("*") if p.is_file()}
    assert main(["run", str(TOY), "--out", str(link), "--force", "--set", "population.size=2000", "--quiet"]) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert before == {p: p.read_bytes() for p in real.rglob("*") if p.is_file()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def test_force_does_not_replace_a_run_or_comparison_directory_holding_a_users_file(tmp_path, capsys):
    """`run --force` and `compare --out --force` replace the old directory as a whole: only when all in it is
    bordersim's (its files, marker, the report and figures bordersim wrote), else refused with nothing touched:
    a `report.html` or a figure in `figures/` that bordersim did not write is the user's."""
    run = ["run", str(TOY), "--set", "population.size=2000", "--quiet"]
    a = tmp_path / "a"
    assert main([*run, "--out", str(a)]) == 0
    cmp = tmp_path / "cmp"
    assert main(["compare", str(a), str(a), "--out", str(cmp)]) == 0
    assert main(["plot", str(a), "--only", "flows"]) == 0
    capsys.readouterr()
    for again, d in ((([*run, "--out", str(a), "--force"]), a), (["compare", str(a), str(a), "--out", str(cmp),
                                                                   "--force"], cmp)):
        for where in ("notes.txt", "figures/notes.txt", "report.html", "figures/my_figure.png"):
            made = not (d / where).parent.exists()  # the comparison has no figures/: the user makes it
            (d / where).parent.mkdir(exist_ok=True)
            (d / where).write_bytes(users_file(where))
            before = {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}
            assert main(again) == 2
            assert f"holds what bordersim did not write ({where})" in capsys.readouterr().err
            assert before == {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}
            (d / where).unlink()
            if made:
                (d / where).parent.rmdir()
        assert main(again) == 0, capsys.readouterr().err  # its own figures do not stop it


@pytest.mark.parametrize("kind", ["run", "comparison"])
def test_force_keeps_an_empty_directory_of_the_users_named_like_an_output_or_figures(tmp_path, capsys, kind):
    """An empty directory is the user's too: one named like an output file (bordersim writes a file there) or an
    unmarked, empty `figures/` (bordersim marks a figures directory before drawing into it) was deleted by
    `run --force` and `compare --force` (a probe). Refused, with the directory kept; without it the same command
    replaces the directory."""
    run = ["run", str(TOY), "--set", "population.size=2000", "--quiet"]
    a = tmp_path / "a"
    assert main([*run, "--out", str(a)]) == 0
    d = a if kind == "run" else tmp_path / "cmp"
    again = [*run, "--out", str(a), "--force"] if kind == "run" else ["compare", str(a), str(a), "--out", str(d),
                                                                     "--force"]
    assert main(again) == 0
    capsys.readouterr()
    output = "summary.json" if kind == "run" else "comparison.json"
    for where in (output, "figures"):
        if where == output:
            (d / where).unlink()
        (d / where).mkdir()
        assert main(again) == 2
        assert f"holds what bordersim did not write ({where})" in capsys.readouterr().err
        assert (d / where).is_dir() and not any((d / where).iterdir())
        (d / where).rmdir()
    assert main(again) == 0, capsys.readouterr().err
    assert (d / output).is_file()


def test_an_input_is_recorded_relative_to_the_output_without_resolving_links(tmp_path):
    """`sim.outputs.path_from`: a results/ that is a link to scratch space took the recorded path up to the root
    and the home directory into it when links were resolved (found in review)."""
    from sim.outputs import path_from

    (tmp_path / "scratch" / "results" / "eff").mkdir(parents=True)
    clone = tmp_path / "home" / "me" / "clone"
    (clone / "experiments").mkdir(parents=True)
    (clone / "results").symlink_to(tmp_path / "scratch" / "results")
    assert path_from(clone / "results" / "eff", clone / "experiments" / "x.yaml") == "../../experiments/x.yaml"


def test_a_run_or_comparison_inside_another_bordersim_directory_is_refused_before_any_work(tmp_path, capsys):
    """`run --out R/sub` in a run directory R succeeded, and `run --out R --force` was then refused for the 'sub'
    bordersim had written (a probe); `plot` already refused such a place."""
    from sim.cli import main

    toy, outer = str(TOY), tmp_path / "R"
    assert main(["run", toy, "--out", str(outer), "--quiet", "--set", "population.size=300"]) == 0
    for argv in (["run", toy, "--out", str(outer / "sub"), "--quiet"],
                 ["compare", str(outer), str(outer), "--out", str(outer / "cmp")]):
        capsys.readouterr()
        assert main(argv) == 2
        assert f"lies inside the run directory {outer}" in capsys.readouterr().err
    assert sorted(p.name for p in outer.iterdir()) == [".bordersim", "scenario.resolved.yaml", "summary.json",
                                                       "timeseries.parquet"]


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    """calibrate --write-scenario onto a private (0600) base scenario left it readable by everyone (0644): every
    atomic write set 0666 less the umask (a probe). A new file still gets that."""
    import stat

    private = tmp_path / "toy.yaml"
    private.write_text("mine\n")
    os.chmod(private, 0o600)
    atomic_write_text(private, "calibrated\n")
    assert private.read_text() == "calibrated\n" and stat.S_IMODE(private.stat().st_mode) == 0o600
    umask = os.umask(0)
    os.umask(umask)
    atomic_write_text(tmp_path / "new.yaml", "x\n")
    assert stat.S_IMODE((tmp_path / "new.yaml").stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("start", ["absent", "an empty directory"])
def test_a_directory_another_command_wrote_at_the_same_out_meanwhile_is_kept(tmp_path, start):
    """Two commands given one --out that was free when each started: the one that ends second replaced the first's
    directory without --force (it decided what to replace by looking at `out` at the end, not at the start). Now
    it is a UsageError, the first's files are kept and no temporary is left."""
    out = tmp_path / "out"
    if start != "absent":
        out.mkdir()
    with pytest.raises(UsageError, match="another command wrote here while this one ran"):
        with new_dir(out, "run", ["summary.json"]) as mine:
            (mine / "summary.json").write_text("second")
            with new_dir(out, "run", ["summary.json"]) as theirs:  # the other command, ending first
                (theirs / "summary.json").write_text("first")
    assert (out / "summary.json").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    # with --force, replacing the directory that was there at the start is what was asked
    with new_dir(out, "run", ["summary.json"], force=True) as again:
        (again / "summary.json").write_text("forced")
    assert (out / "summary.json").read_text() == "forced"


@pytest.mark.parametrize("mode", [0o700, 0o2775])
def test_an_empty_directory_given_as_out_keeps_its_permissions(tmp_path, mode):
    """An empty --out is replaced by the new run or comparison directory: a private (0700) one became 0755 and a
    setgid one lost its bit (a probe). The new directory takes the empty one's permission bits."""
    run = ["run", str(TOY), "--set", "population.size=2000", "--quiet"]
    a = tmp_path / "a"
    assert main([*run, "--out", str(a)]) == 0
    for command, out in ((run, tmp_path / "run"), (["compare", str(a), str(a)], tmp_path / "cmp")):
        out.mkdir()
        os.chmod(out, mode)
        assert main([*command, "--out", str(out)]) == 0
        assert oct(out.stat().st_mode & 0o7777) == oct(mode) and (out / MARKER).is_file()


@pytest.mark.parametrize("command", ["run", "sweep"])
@pytest.mark.parametrize("mode", [0o555, 0o655])
def test_an_empty_directory_its_owner_may_not_use_is_refused_and_kept(tmp_path, capsys, command, mode):
    """An empty 0555 --out was replaced by a 0755 run directory (the owner's rights made full so that it could be
    removed; a probe), and a sweep wrote into it as root: bordersim does not change a directory's permissions.
    Refused before any run, exit 2."""
    out = tmp_path / "ro"
    out.mkdir()
    os.chmod(out, mode)
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: s\nscenario: {TOY}\nparameters:\n  population.size: [500]\n")
    args = ["run", str(TOY)] if command == "run" else ["sweep", str(spec), "--workers", "1"]
    assert main([*args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"its owner may not read, write and enter it (mode {mode:04o})" in err and "chmod u+rwx" in err, err
    assert oct(out.stat().st_mode & 0o7777) == oct(mode) and list(out.iterdir()) == []


def test_a_forced_replacement_keeps_the_permissions_and_refuses_a_read_only_directory(tmp_path, capsys):
    """--force replaced a private (0700) run directory by a 0755 one, its results world-readable, while an empty
    0700 --out kept 0700 (a review); a 0555 one was replaced as well. The new directory takes the old one's bits."""
    out = tmp_path / "run"
    run = ["run", str(TOY), "--set", "population.size=2000", "--quiet", "--out", str(out)]
    assert main(run) == 0
    os.chmod(out, 0o700)
    assert main([*run, "--force"]) == 0
    assert oct(out.stat().st_mode & 0o7777) == oct(0o700)
    os.chmod(out, 0o555)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir())
    assert main([*run, "--force"]) == 2
    assert "its owner may not read, write and enter it (mode 0555)" in capsys.readouterr().err
    assert sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir()) == before
    os.chmod(out, 0o755)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_an_empty_directory_of_another_user_is_not_replaced_by_a_run(tmp_path, capsys):
    """A run replaces an empty --out by the directory it builds: another user's became this user's (a review)."""
    out = tmp_path / "theirs"
    out.mkdir()
    os.chown(out, 4321, 4321)
    assert main(["run", str(TOY), "--out", str(out), "--quiet"]) == 2
    assert "belongs to another user (uid 4321)" in capsys.readouterr().err
    assert out.stat().st_uid == 4321 and list(out.iterdir()) == []



@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_an_analysis_or_sweep_writes_into_another_users_directory_and_force_keeps_a_sweeps_mode(tmp_path, capsys):
    """Analyses and sweeps write into their directory, so a shared one of another user's is theirs to use (the
    refusal meant for runs reached them: a review); a sweep replaced with --force keeps the old one's mode (a
    private sweep became world-readable) and is refused when another user's (the new one would be this user's)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o2775)
    os.chown(shared, 4321, 4321)
    assert main(["discover", str(ROOT / "experiments" / "toy_discover.yaml"), "--out", str(shared), "--dry-run"]) == 0
    capsys.readouterr()
    spec = tmp_path / "s.yaml"
    spec.write_text(f"name: s\nscenario: {TOY}\nparameters:\n  population.size: [500]\n")
    assert main(["sweep", str(spec), "--out", str(shared), "--workers", "1", "--quiet"]) == 0
    other = tmp_path / "other.yaml"
    other.write_text(spec.read_text().replace("[500]", "[600]"))
    assert main(["sweep", str(other), "--out", str(shared), "--workers", "1", "--quiet", "--force"]) == 2
    assert "belongs to another user (uid 4321)" in capsys.readouterr().err
    os.chown(shared, os.geteuid(), os.getegid())
    os.chmod(shared, 0o700)
    assert main(["sweep", str(other), "--out", str(shared), "--workers", "1", "--quiet", "--force"]) == 0
    assert oct(shared.stat().st_mode & 0o7777) == oct(0o700)


def test_a_path_longer_than_the_system_allows_is_bad_input(tmp_path, capsys):
    """Names of 200 bytes each, 25 deep: no name is too long, the path is (4,096 bytes); the command line said a
    name was over 255 bytes, and sim.load_sweep raised a raw OSError (a review)."""
    import sim

    deep = Path(str(tmp_path) + ("/" + "d" * 200) * 25)
    with pytest.raises(UsageError, match="the path is longer than the file system allows"):
        sim.load_sweep(deep)
    assert main(["run", str(TOY), "--out", str(deep / "out"), "--quiet"]) == 2
    assert "the path is longer than the file system allows (4,096 bytes)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_dangling_link_as_out_is_named_as_one(tmp_path, capsys):
    """A link to a path that does not exist was 'exists and is not a directory' (an API probe)."""
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")
    assert main(["run", str(TOY), "--out", str(link), "--quiet"]) == 2
    assert f"is a symbolic link to {tmp_path / 'gone'}, which does not exist" in capsys.readouterr().err
    assert link.is_symlink() and not (tmp_path / "gone").exists()
