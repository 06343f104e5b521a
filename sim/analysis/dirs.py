"""The output rule of sim/outputs.py applied to analyses that run sweeps (calibration, sensitivity, effects,
discovery).

An analysis directory OUT carries the marker of its kind (`calibration`, `sensitivity`), written when bordersim
creates it, and is resumed in place: `claim_analysis_dir` refuses anything else before a file is written, and
the command holds OUT/.lock while it works there (`AnalysisDir`), so a second one on OUT is refused before it
writes anything. Inside
it, each sweep directory (OUT/sweep, OUT/check, ...) must be absent, empty or a bordersim `sweep` directory;
anything else is refused, with or without --force, and nothing is deleted. A sweep directory holding the runs of
another design is replaced by the sweep engine, under its lock and only through `remove_owned(path, "sweep")`
(sim/experiments/store.py): when the user passes --force, or when the analysis derived that sweep itself from
earlier results (a calibration's second round and check); otherwise it is refused before anything is written
(`check_design`). Files such as OUT/base.yaml are the analysis's own, written atomically, and only inside its own
directory. Bad input that only the sweep engine finds (an unreachable scheduler, a point that makes an invalid
scenario) leaves no new OUT behind, and an existing OUT as it was (`undone_on_bad_input`). An analysis run again in
its OUT marks it unfinished when it starts writing its tables (`AnalysisDir.writing_results`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import InputError, Unreadable, UsageError
from sim.interrupts import signals_deferred
from sim.outputs import (FIGURE_FORMATS, LOCK, MARKER, atomic_path, atomic_write_bytes, atomic_write_text, claim_dir,
                         clean_stale_temporaries, held_by, is_bordersim_figure, is_bordersim_report, lock_dir,
                         marker_kind, path_from, real_target, refuse_foreign_figures, unlock_dir, write_if_changed,
                         write_marker)

if TYPE_CHECKING:
    import pandas as pd
    from pydantic import BaseModel

    from sim.experiments.spec import LoadedSpec
    from sim.experiments.sweep import Plan
    from sim.scenario.schema import Scenario


class AnalysisDir:
    """An analysis directory OUT claimed for `kind` (`claim_analysis_dir`), used as a context manager: OUT/.lock
    is held from the moment OUT exists as this analysis's directory (at once when it is resumed, from `make()` when
    it is new) until the `with` block ends, so that a second command on OUT is refused before it writes anything
    there (not only when it reaches the sweep directory's own lock)."""

    def __init__(self, out: Path, kind: str, existed: bool, results: tuple[str, ...] = (),
                 figures: tuple[str, ...] = ()):
        self.out, self.kind, self.existed = out, kind, existed
        self.results, self.figures = results, figures
        self.report_removed = False  # `writing_results` removed OUT/report.html
        self.made = False  # this command created OUT
        self.writing = False  # `writing_results` was called: the results in OUT are this command's from then on
        self.theirs: set[str] = set()  # result names of files that appeared during the runs: not recorded as ours
        self.written: dict[str, str | None] = {}  # result -> sha256 as written since `writing_results` (None: now)
        self.made_dirs: list[Path] = []  # the directories it created for it, OUT first, then its new parents
        self._fd: int | None = None

    def __enter__(self) -> AnalysisDir:
        if self.existed:
            self._fd = lock_dir(self.out, f"{self.kind} analysis")
            clean_stale_temporaries(self.out)  # those of a command killed while it wrote a result file
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        """Release OUT's lock. A Ctrl-C or SIGTERM that stopped the analysis outside its sweeps once OUT was its
        own (between two sweeps, or while it wrote its tables) becomes an AnalysisInterrupted, which says that the
        runs are kept and the same command finishes the analysis (a sweep's own SweepInterrupted says so)."""
        ours = self._fd is not None
        try:
            with signals_deferred():  # a Ctrl-C while the lock is released is said like one a moment before
                try:
                    if ours and self.writing:
                        record_results(self.out, [name for name in self.results if name not in self.theirs])
                finally:
                    self.release()
        except KeyboardInterrupt as late:
            exc = exc if isinstance(exc, KeyboardInterrupt) else late
        if ours:
            _say_runs_kept(exc, self.out)

    def release(self) -> None:
        if self._fd is not None:
            unlock_dir(self._fd)
            self._fd = None

    def make(self) -> bool:
        """Create OUT with its marker when it was absent or empty, and lock it; True when this made OUT."""
        if not self.existed and self._fd is None:
            here = self.out
            while not here.exists() and not here.is_symlink():
                self.made_dirs.append(here)
                here = here.parent
            self.made = bool(self.made_dirs)
            self.out.mkdir(parents=True, exist_ok=True)
            write_marker(self.out, self.kind)
            self._fd = lock_dir(self.out, f"{self.kind} analysis")
        return self.made

    def figure_files(self) -> list[str]:
        """OUT-relative paths of the analysis's `figures` in every format (`bordersim plot --format` may have drawn
        others than the command's)."""
        return [f"figures/{Path(name).stem}.{fmt}" for name in self.figures for fmt in FIGURE_FORMATS]

    def writing_results(self) -> bool:
        """Called when the analysis, its runs done, starts writing its tables (or when its sweep starts, if its spec
        changed: `run_spec_sweep`): an earlier analysis's `results` (its tables and summaries, the last of which
        says that it finished; this one writes them from now on), the `figures` it drew (in every format) in
        OUT/figures and OUT/report.html (those bordersim wrote) are removed, so that until this analysis ends OUT
        reads as an unfinished analysis, never as a finished one mixing the earlier analysis's tables with this
        one's (an interrupted re-analysis did). Bad input found before (a scheduler that is not there) leaves the
        earlier analysis whole. True when a report was removed, now or by an earlier call (the command says so).
        Each result removed is one an earlier analysis left as it wrote it: `refuse_unrecorded_results` refused
        anything else when OUT was claimed, and refuses it again here, as a file may have appeared there during the
        runs; on a later call of the same command none is bordersim's (the first removed them). When the command
        ends, even by Ctrl-C, `record_results` records the results then in OUT (not those refused here). Until then
        the record says that an analysis is writing its results, and names each one `result` wrote or is writing."""
        if not self.writing:
            refuse_unrecorded_results(self.out, self.kind, self.results)
        else:
            appeared = [name for name in self.results if (self.out / name).exists() or (self.out / name).is_symlink()]
            if appeared:
                self.theirs.update(appeared)
                it = "it" if len(appeared) == 1 else "them"
                raise UsageError(f"{self.out}: {', '.join(appeared)} appeared while this {self.kind} analysis ran; "
                                 f"bordersim did not write {it} and would replace or remove {it}: move {it} away "
                                 "and run the same command again (every finished run is kept)")
        self.writing = True
        for name in self.results:
            p = self.out / name
            if p.is_file() and not p.is_symlink():
                p.unlink()
        for name in self.figure_files():
            p = self.out / name
            if is_bordersim_figure(p) and not p.is_symlink():
                p.unlink()
        report = self.out / "report.html"  # `bordersim report`'s default place: it described the earlier analysis
        if is_bordersim_report(report) and not report.is_symlink():
            report.unlink()
            self.report_removed = True
        self.written = {}
        record_writing(self.out, self.written)
        return self.report_removed

    @contextmanager
    def result(self, name: str) -> Iterator[Path]:
        """A temporary path for the result OUT/NAME (`atomic_path`: renamed into place when the block ends). NAME
        is recorded as being written before the file can appear, and with its sha256 once it is there, so that an
        analysis killed while it writes its results leaves a record naming only the files it wrote: a file of the
        user's put under another result's name afterwards is refused by the next run, not taken as bordersim's."""
        self.written[name] = None
        record_writing(self.out, self.written)
        with atomic_path(self.out / name) as tmp:
            yield tmp
        self.written[name] = _sha256(self.out / name)
        record_writing(self.out, self.written)

    def write_result(self, name: str, text: str) -> None:
        """`result` holding TEXT (UTF-8)."""
        with self.result(name) as tmp:
            tmp.write_bytes(text.encode("utf-8"))


def _say_runs_kept(exc: BaseException | None, out: Path) -> None:
    """Raise an AnalysisInterrupted about OUT in place of a Ctrl-C or SIGTERM `exc` (not in place of a sweep's
    SweepInterrupted, which says itself what it kept)."""
    from sim.errors import Terminated
    from sim.experiments.sweep import AnalysisInterrupted, SweepInterrupted

    if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, SweepInterrupted):
        raise AnalysisInterrupted(out, isinstance(exc, Terminated)) from None


@contextmanager
def runs_kept(out: Path) -> Iterator[None]:
    """Around what a command does with a finished analysis in OUT (drawing its figures): a Ctrl-C or SIGTERM
    there says, as one during the analysis does, that the runs are kept and the same command finishes."""
    try:
        yield
    except KeyboardInterrupt as exc:
        _say_runs_kept(exc, out)
        raise


def refuse_if_busy(out: Path | None, kind: str) -> None:
    """UsageError when another command holds OUT/.lock (`held_by`), checked before the spec is read (which can
    take seconds); `claim_analysis_dir` checks again when it takes the lock. None (the default OUT, known only
    from the spec) is checked there."""
    if out is None:
        return
    holder = held_by(real_target(out))
    if holder is not None:
        raise UsageError(f"{real_target(out)}: another command is writing to this directory ({holder}); wait until "
                         f"it ends, or stop it, or choose another --out for this {kind} analysis")


def claim_analysis_dir(out: Path, kind: str, *, force: bool, sweeps: list[str], files: list[str],
                       figures: tuple[str, ...] = (), records: tuple[str, ...] = (),
                       results: tuple[str, ...] = (), derived: Iterable[str] = ()) -> AnalysisDir:
    """Check, before anything is written, that `kind` may run in `out`: `out` itself by `claim_dir` (absent, empty,
    or a `kind` directory, which is resumed; not inside another directory bordersim made), every sweep directory in
    `sweeps` by `check_sweep_dir` and those of them in `derived` (replaced without --force when the analysis
    changes: a calibration's check) by `check_replaceable` (they hold nothing bordersim did not write: refused now,
    not after the runs that decide whether to replace them), every name in `files` is not a directory, every name in
    `records` (of `files`) is absent or a record an analysis wrote (`is_generated_record`: a directory of an earlier
    version, which did not write it, may hold a file of the user's by that name), and OUT/figures, where the command
    draws at the end, is absent or a real directory unmarked or marked `figures` (as `plot` would accept it), in
    which each of the file names in `figures` is absent or a figure bordersim wrote. Returns the claim
    (`AnalysisDir`: use it in a `with` block, which holds OUT's lock; its `writing_results()` removes `results` and
    `figures`, see there). Raises UsageError."""
    existed = claim_dir(out, kind, force=force, resume=True, alone=True)
    if existed:
        for name in sweeps:
            check_sweep_dir(out / name)
        for name in derived:
            if (out / name).is_dir() and any((out / name).iterdir()):
                from sim.experiments.store import check_replaceable

                check_replaceable(out / name, f"which the {kind} analysis replaces whenever what it is derived "
                                              "from changes (whether or not this run would), so it may hold only "
                                              "bordersim's files")
        for name in files:
            p = out / name
            if p.is_symlink() or (p.exists() and not p.is_file()) \
                    or (name in records and p.exists() and not is_generated_record(p, kind)):
                raise UsageError(f"{p}: exists and is not a file bordersim wrote; bordersim writes this {kind} "
                                 "analysis's record there: move it away")
        refuse_unrecorded_results(out, kind, results)
        figures_dir = out / "figures"  # where the command draws at the end: refused now, not after the runs
        if figures_dir.is_symlink() or (figures_dir.exists() and not figures_dir.is_dir()) \
                or (figures_dir.is_dir() and marker_kind(figures_dir) not in (None, "figures")):
            raise UsageError(f"{figures_dir}: exists and is not a figures directory bordersim made; bordersim draws "
                             "this analysis's figures there: move it away")
        refuse_foreign_figures(figures_dir, figures)  # the files it will draw after its runs: none of the user's
    return AnalysisDir(out, kind, existed, results, figures)


RESULTS_RECORD = ".bordersim-results.json"  # the results an analysis left in OUT: {"writing", "results"}


def record_results(out: Path, results: Iterable[str]) -> None:
    """Write OUT/RESULTS_RECORD of a finished (or stopped) analysis: `results` (file name -> sha256) of each file
    of `results` in OUT (regular files, not links), the tables and summaries the analysis wrote there or kept.
    `refuse_unrecorded_results` reads it."""
    present = {name: _sha256(out / name) for name in results
               if (out / name).is_file() and not (out / name).is_symlink()}
    _write_record(out, writing=False, results=present)


def record_writing(out: Path, written: dict[str, str | None]) -> None:
    """Write OUT/RESULTS_RECORD of an analysis writing its results now: `written` (file name -> sha256, or None
    for the one being written), so that one killed meanwhile leaves a record of the files that are its own."""
    _write_record(out, writing=True, results=written)


def _write_record(out: Path, *, writing: bool, results: Mapping[str, str | None]) -> None:
    atomic_write_text(out / RESULTS_RECORD,
                      json.dumps({"writing": writing, "results": results}, indent=1, sort_keys=True) + "\n")


def refuse_unrecorded_results(out: Path, kind: str, results: Iterable[str]) -> None:
    """UsageError, when OUT is claimed, for the files named as the analysis's results that are not ones an
    analysis left there as it wrote them (their sha256 in OUT/RESULTS_RECORD): files of the user's (a probe:
    holdout.csv in a calibration without a hold-out was deleted by the next calibration), or changed since. The
    analysis would replace or remove them. While the record says an analysis was writing its tables (it was
    killed then), the files there that it names are that analysis's: the one it was writing (sha256 None) and
    those with the sha256 it wrote. A directory of an earlier version, which kept no record,
    is taken as it was (its results are removed as bordersim's); a record that is not a regular file, or cannot
    be read, is refused."""
    path = out / RESULTS_RECORD
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise UsageError(f"{path}: is not the record bordersim keeps there (a link or a directory); move it away, "
                         "or choose another --out")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        record = None
    known = record.get("results") if isinstance(record, dict) else None
    if not isinstance(known, dict) or not isinstance(record.get("writing"), bool):  # damaged: it decides nothing
        raise UsageError(f"{path}: cannot be read as the record bordersim keeps there of the results it wrote; "
                         "without it bordersim cannot tell them from files of yours: move it away (OUT is then "
                         "taken as a directory of an earlier version, whose results are removed as bordersim's), "
                         "or choose another --out")
    writing = record["writing"]
    theirs = [out / name for name in results if (out / name).is_file() and not (out / name).is_symlink()
              and not (writing and name in known and known[name] is None)
              and known.get(name) != _sha256(out / name)]
    if theirs:
        listed = ", ".join(p.name for p in theirs)
        raise UsageError(f"{out}: {listed} {'is' if len(theirs) == 1 else 'are'} not among the results the earlier "
                         f"{kind} analysis left here as it wrote them (files of yours, or changed since); this "
                         f"{kind} analysis would replace or remove {'it' if len(theirs) == 1 else 'them'}: move "
                         f"{'it' if len(theirs) == 1 else 'them'} away, or choose another --out")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def undone_on_bad_input(claim: AnalysisDir, files: Iterable[str]) -> Iterator[None]:
    """Around the sweeps of an analysis (a calibration's rounds: all of them), which write the regular files named
    in `files` (its records) before a sweep starts and may remove its earlier results (`writing_results`): when bad
    input (InputError: an unreachable scheduler, points that make an invalid scenario) stops a sweep, what the
    command wrote or removed is undone (its records, and the earlier results, figures, report and results record),
    so that a refused command leaves what was there before (its runs aside). In a directory that existed
    (`claim.existed`: an analysis resumed or run again) each of these gets back the bytes it had, or, of `files`,
    is removed if it was not there. In a new one (absent or empty),
    unless a sweep directory was made in it, the marker, the lock file and `files` are removed, and OUT itself if
    this command made it and nothing else is in it, and so are the parents it made for OUT."""
    out = claim.out
    files = list(files)
    # what `writing_results` may remove, too: the earlier analysis's figures, its report and the results record
    before = {name: (out / name).read_bytes() if (out / name).is_file() and not (out / name).is_symlink() else None
              for name in (*files, *claim.figure_files(), "report.html", RESULTS_RECORD)} if claim.existed else {}
    try:
        yield
    except InputError:
        for name, data in before.items():
            if data is not None:
                if not (out / name).is_file() or (out / name).read_bytes() != data:  # changed, or removed since
                    atomic_write_bytes(out / name, data)
            elif name in files and (out / name).is_file() and not (out / name).is_symlink():
                (out / name).unlink()
        if not claim.existed and out.is_dir() and not any(p.is_dir() for p in out.iterdir()):
            claim.release()
            for name in (MARKER, LOCK, RESULTS_RECORD, *files):
                p = out / name
                if p.is_file() and not p.is_symlink():
                    p.unlink()
            for made in claim.made_dirs:  # OUT, then the parents this command created for it
                try:
                    made.rmdir()
                except OSError:  # something else is there: left alone
                    break
        raise


def check_sweep_dir(path: Path) -> None:
    """`path` must be absent, an empty directory or a bordersim sweep directory; else UsageError."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_dir():
        raise UsageError(f"{path}: exists and is not a sweep directory; bordersim does not delete or overwrite it: "
                         "move it away")
    if any(path.iterdir()) and marker_kind(path) != "sweep":
        raise UsageError(f"{path}: exists and was not made by bordersim as a sweep directory (no {MARKER} marker "
                         "of kind sweep); bordersim never deletes or writes into such a directory, even with "
                         "--force: move it away")


def check_design(path: Path, ls: LoadedSpec, *, force: bool) -> None:
    """Refuse, before anything is written, a sweep directory `path` that the sweep engine would refuse for `ls`:
    runs of another design (or a damaged manifest) without `force`, anything it may not replace with it
    (`SweepStore.check`, which reads only)."""
    from sim.experiments.store import SweepStore

    SweepStore.check(path, ls, force=force)


def run_owned_sweep(p: Plan, path: Path, *, replace: bool, workers: int | None, scheduler: str | None,
                    progress: Callable[[int, int], None] | None) -> pd.DataFrame:
    """Run (or resume) the sweep plan `p` in `path`, a sweep directory inside an analysis directory (checked by
    `check_sweep_dir`). If `path` holds another design's runs, the sweep engine replaces it when `replace` (under
    its lock, and only a bordersim sweep directory: `remove_owned`), else refuses (sim/experiments/store.py)."""
    from sim.experiments.sweep import run_sweep

    check_sweep_dir(path)
    return run_sweep(p, path, workers=workers, scheduler=scheduler, force=replace, progress=progress)


GENERATED = "(generated"  # in the first line of every record an analysis writes (`analysis_records`)
RECORD_HEADS = {"base.yaml": "# Base of the {kind} sweep of ", "spec.yaml": "# The {kind} spec as run (generated"}


def is_generated_record(path: Path, kind: str) -> bool:
    """`path` is a record the `kind` analysis wrote: its first line starts as `analysis_records` writes it and
    says it was generated. UsageError when the system will not let us read it."""
    try:
        with open(path, "rb") as f:
            first = f.readline(4096)
    except PermissionError:
        raise Unreadable(path) from None
    except OSError:
        return False
    return first.startswith(RECORD_HEADS[path.name].format(kind=kind).encode()) and GENERATED.encode() in first


def analysis_records(kind: str, out: Path, spec_path: Path, scenario_path: Path, base: Scenario, *,
                     spec: BaseModel | None = None, applied: str = "") -> dict[str, str]:
    """The records (file name -> text) an analysis keeps in OUT beside its sweep, so that OUT/experiment.yaml runs
    wherever OUT lies and whatever becomes of the original files:

    - base.yaml: the base scenario as resolved (with what the analysis `applied` to it, e.g. the horizon), under a
      line naming the spec and scenario it came from; left out when the analysis runs from that copy (a spec
      whose scenario is OUT/base.yaml: OUT/spec.yaml), so that the line still names the originals;
    - spec.yaml, when `spec` is given: the spec as validated, every setting written out (defaults included: the
      analysis's own settings, e.g. Morris levels or bootstrap draws, are in no other file), its scenario the copy
      base.yaml, so that `bordersim <command> OUT/spec.yaml --out OUT` resumes the same analysis."""
    import yaml

    from sim.scenario.overrides import dump_scenario

    records = {}
    if scenario_path.resolve() != (out / "base.yaml").resolve():
        records["base.yaml"] = (RECORD_HEADS["base.yaml"].format(kind=kind) + f"{path_from(out, spec_path)} "
                                f"{GENERATED}): {path_from(out, scenario_path)}{applied}.\n" + dump_scenario(base))
    if spec is not None:
        data = spec.model_dump(mode="json") | {"scenario": "base.yaml"}
        records["spec.yaml"] = (RECORD_HEADS["spec.yaml"].format(kind=kind) + "; its scenario is the copy beside "
                                "it)\n" + yaml.safe_dump(data, sort_keys=False, width=110))
    return records


def planned_sweep(claim: AnalysisDir, exp: dict, base: Scenario, *, force: bool) -> tuple[LoadedSpec, str]:
    """The experiment spec `exp` of an analysis claimed in OUT, validated as OUT/experiment.yaml, and what its sweep
    would do in OUT/sweep: "new", "resume" or "replace" (another design's runs there, with `force`); UsageError
    when OUT/sweep may not be used (`SweepStore.check`). Reads only: `run_spec_sweep` and the analyses' dry runs."""
    from sim.experiments.spec import ExperimentSpec, LoadedSpec
    from sim.experiments.store import SweepStore
    from sim.scenario.validation import validate_model

    exp_path = claim.out / "experiment.yaml"
    loaded = LoadedSpec(validate_model(ExperimentSpec, exp, path=str(exp_path)), exp_path, base)
    return loaded, SweepStore.check(claim.out / "sweep", loaded, force=force)


def dry_run_output(claim: AnalysisDir, exp: dict, base: Scenario, *, force: bool,
                   scheduler: str | None = None) -> str:
    """The line an analysis's dry run prints about OUT, after the checks its run makes before any run
    (`claim_analysis_dir` made `claim`; OUT not held by another command, `refuse_if_busy`; the --scheduler
    address's form; `planned_sweep`): what the run would do there."""
    from sim.experiments.dask_cluster import check_scheduler

    refuse_if_busy(claim.out, claim.kind)
    if scheduler is not None:
        check_scheduler(scheduler)
    _, action = planned_sweep(claim, exp, base, force=force)
    what = {"new": "resumed: its tables are written anew" if claim.existed else "new",
            "resume": "resumed: its finished runs are kept",
            "replace": "its sweep replaced (--force): the runs of another design there are discarded"}[action]
    return f"output: {claim.out} ({what})"


def run_spec_sweep(claim: AnalysisDir, exp: dict, base: Scenario, *, force: bool,
                   workers: int | None, scheduler: str | None, progress: Callable[[int, int], None] | None,
                   records: dict[str, str] | None = None) -> pd.DataFrame:
    """The sweep of an analysis that runs one (sensitivity, effects, discovery) in the claimed OUT: validate the
    experiment spec `exp`, built in memory so that OUT/sweep is compared with it (`planned_sweep`) before anything
    is written; create OUT with its marker and lock (`claim.make()`); run or resume the sweep in OUT/sweep
    (`run_owned_sweep`, replaced only with `force`), and once the sweep engine has accepted it (its first progress
    report, before any run) write `records` (file name -> text, e.g. the base scenario) and OUT/experiment.yaml.
    When these change, OUT holds another analysis than this one: its results, figures and report go at once
    (`writing_results`), so that an interruption during the sweep does not leave them beside this one's records.
    Bad input found by the sweep engine therefore leaves OUT as it was, and no new OUT behind
    (`undone_on_bad_input`)."""
    import yaml

    from sim.experiments.sweep import plan

    out = claim.out
    exp_path = out / "experiment.yaml"
    loaded, _ = planned_sweep(claim, exp, base, force=force)
    p = plan(loaded)
    texts = {**(records or {}), exp_path.name: yaml.safe_dump(exp, sort_keys=False, width=110)}
    claim.make()
    written = False

    def write_records() -> None:
        nonlocal written
        if written:
            return
        if any(not (out / name).is_file() or (out / name).read_text() != text for name, text in texts.items()):
            claim.writing_results()
        for name, text in texts.items():
            write_if_changed(out / name, text)
        written = True

    def reported(done: int, total: int) -> None:
        write_records()
        if progress is not None:
            progress(done, total)

    with undone_on_bad_input(claim, list(texts)):
        runs = run_owned_sweep(p, out / "sweep", replace=force, workers=workers, scheduler=scheduler,
                               progress=reported)
    write_records()  # the sweep engine reports before its runs; this is for one that would not
    return runs
