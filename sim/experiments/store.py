"""Crash-safe, resumable results store of a sweep directory. Written only by the parent process, under a lock.

Layout:
    DIR/.bordersim                         marker: a directory bordersim made, of kind "sweep" (sim/outputs.py)
    DIR/.lock                              the lock file (see below): pid, host and command of the last holder
    DIR/sweep.json                         manifest: spec fingerprint, spec, base scenario name, the version and
                                           code (sim.provenance) of the last command that ran the sweep
    DIR/scenario.resolved.yaml             the base scenario as resolved (a point's scenario: it with the point's
                                           settings); written when missing (sweeps of earlier versions lack it)
    DIR/runs/<run_id>.json                 one record per finished run (status, outcomes, error, wall time, the
                                           code_sha256 of the process that made it)
    DIR/timeseries/run_id=<run_id>/part-0.parquet   the run's time series (a Parquet dataset keyed by run_id; made
                                           with the first series kept: none with timeseries false)
    DIR/runs.parquet                       one row per run, rebuilt from the records at the end and on resume

Every file is written to a temporary name in the same directory and renamed into place (atomic on POSIX), the
time series before the record, so a record on disk always means a complete run. A kill at any moment leaves at
worst a stray temporary file, removed when the store is opened again.

Opening a directory follows the output-directory rule of sim/outputs.py:
- a new or empty directory becomes a sweep directory (marker first, then manifest);
- a sweep directory (marker) of the same spec fingerprint is resumed; of another fingerprint, or with a damaged
  manifest, it is refused, or with `force` replaced as a whole (the new one is built beside it and renamed in, the
  old one removed with `remove_owned`) if it holds nothing bordersim did not write (`_foreign_entries`);
- a sweep directory of an older bordersim (sweep.json, no marker) is resumed when the fingerprint matches (the
  marker is written then); otherwise it is refused even with `force`: bordersim deletes nothing it cannot prove
  it made;
- anything else (a file, a foreign or other-kind directory, the root, home or current directory or a parent of
  it) is refused, even with `force`, and nothing is written.

Locking: while a store is open its process holds an exclusive `fcntl.flock` on DIR/.lock (taken without waiting).
A second sweep into the same directory is refused at once, naming the holder; the OS releases the lock when the
holder exits or is killed, so a crashed sweep never leaves the directory locked.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd

from sim.api_checks import path_argument
from sim.errors import MixedCodeWarning, Unreadable, UsageError, with_article
from sim.directories import COMPARISON_TABLES
from sim.experiments.design import RunSpec
from sim.interrupts import signals_deferred
from sim.experiments.spec import LoadedSpec
from sim.experiments.task import TaskOutput
from sim.scenario.overrides import dump_scenario
from sim.provenance import code_sha256, stamp
from sim.outputs import (LOCK, MARKER, TMP_PREFIX, TMP_SUFFIX, atomic_path, atomic_write_text, check_readable_dir,
                         claim_dir, clean_stale_temporaries, foreign_entries, is_real_dir, lock_dir, make_temp_dir,
                         marker_kind, protected_reason, refuse_foreign, refuse_if_held, refuse_kept_from, take_mode,
                         remove_owned, unfinished, unlock_dir, write_if_changed, write_marker, writing)

KIND = "sweep"
# temporaries of this version (sim.outputs) and of earlier ones (.part-0.*, .runs.*, .<record or manifest>.json.*)
_OUR_TEMPORARY = re.compile(rf"^(?:{re.escape(TMP_PREFIX)}|\.part-0\.|\.runs\.|\.sweep\.json\.|"
                            rf"\.p[0-9]+-r[0-9]+\.json\.).*{re.escape(TMP_SUFFIX)}\Z")
MANIFEST = "sweep.json"
BASE_SCENARIO = "scenario.resolved.yaml"


class SweepStore:
    def __init__(self, root: Path, lock_fd: int | None = None):
        self.root = root
        self.runs_dir = root / "runs"
        self.ts_dir = root / "timeseries"
        self._lock_fd = lock_fd
        # code_sha256 -> finished runs it made: recorded earlier / by this store (`compile`); None: not recorded
        self.codes: Counter[str | None] = Counter()
        self.made_now: dict[str, str] = {}  # run_id -> code_sha256 of the runs this store recorded as finished

    # ------------------------------------------------------------------------------------------- opening
    @classmethod
    def open(cls, root: str | Path, ls: LoadedSpec, *, force: bool = False) -> SweepStore:
        """Create the sweep directory, or reopen it to resume, following the rule in the module docstring; the
        returned store holds the directory's lock until `close()` (or the end of the process). Raises UsageError
        (nothing written or deleted) for a directory it may not use or one another sweep holds."""
        root = Path(root)
        _decide(root, ls, force)  # refuse before writing anything, not even the lock file
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{root}: cannot create the directory ({exc.strerror}); choose another --out") from None
        clean_stale_temporaries(root.parent)  # a replaced sweep an interrupted --force left (`_remove_replaced`)
        fd = lock_dir(root, "sweep")
        try:
            action = _decide(root, ls, force)  # again, now that no other sweep can change it
            if action == "new":
                _initialise(root, ls)
            elif action == "legacy":
                write_marker(root, KIND)
            elif action == "replace":
                with signals_deferred():  # a Ctrl-C during the swap is raised after it, with `fd` the new lock
                    fd, trash = _replace(root, ls, fd)
                _remove_replaced(trash)
            store = cls(root, fd)
            write_if_changed(root / MANIFEST, _manifest_text(ls, root))  # resumed: more replicates, a moved spec
            if not (root / BASE_SCENARIO).exists():  # the fingerprint matched: the same resolved base scenario
                atomic_write_text(root / BASE_SCENARIO, dump_scenario(ls.base))
            store.runs_dir.mkdir(exist_ok=True)
            store._clean_temporaries()
        except BaseException:
            unlock_dir(fd)
            raise
        return store

    @staticmethod
    def check(root: str | Path, ls: LoadedSpec, *, force: bool = False) -> str:
        """Raise the UsageError `open` would raise for this directory (reads only; the lock is not checked); else
        say what `open` would do: "new", "resume" or "replace" (another spec's runs there discarded)."""
        action = _decide(Path(root), ls, force)
        return "resume" if action == "legacy" else action

    def close(self) -> None:
        """Release the directory's lock (clearing the holder's name from the lock file)."""
        if self._lock_fd is not None:
            unlock_dir(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _clean_temporaries(self) -> None:
        """Remove the temporaries bordersim leaves when killed (`.bordersim-*.tmp`, and the names earlier versions
        used): under the lock no other process is writing here. Other hidden files are left alone."""
        for p in list(self.root.rglob(".*.tmp")):
            if not _OUR_TEMPORARY.match(p.name):
                continue
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)

    # ------------------------------------------------------------------------------------------ records
    def finished(self) -> set[str]:
        """run_ids with a successful record (`read_record`)."""
        done = set()
        for p in self.runs_dir.glob("*.json"):
            rec = read_record(p)
            if rec is not None and rec["status"] == "ok":
                done.add(p.stem)
        return done

    def record(self, run: RunSpec, out: TaskOutput) -> None:
        if out.timeseries is not None:
            part = self.ts_dir / f"run_id={run.run_id}"
            with writing(part):
                part.mkdir(parents=True, exist_ok=True)  # timeseries/ is made with the first series kept
                with atomic_path(part / "part-0.parquet") as tmp:
                    out.timeseries.drop(columns=["run_id"]).to_parquet(tmp, index=False)
        record = {
            "run_id": run.run_id,
            "point": run.point.index,
            "package": run.point.package,
            "replicate": run.replicate,
            "seed": run.seed,
            "parameters": run.point.values,
            "status": out.status,
            "error": out.error,
            "error_kind": out.error_kind,
            "outcomes": {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.outcomes.items()},
            "wall_time": out.wall_time,
            "code_sha256": out.code_sha256,
        }
        if out.status == "ok":
            self.made_now[run.run_id] = out.code_sha256
        with writing(self.runs_dir / f"{run.run_id}.json"):
            atomic_write_text(self.runs_dir / f"{run.run_id}.json", json.dumps(record) + "\n")

    # ------------------------------------------------------------------------------------------ table
    def compile(self, runs: list[RunSpec], parameter_names: list[str]) -> pd.DataFrame:
        """runs.parquet: one row per run of the design that has a record, in run_id order; its last columns the
        code_sha256 of the code that made the run and its wall time."""
        rows = []
        policies = any(r.point.package is not None for r in runs)
        self.codes = Counter()
        for run in sorted(runs, key=lambda r: r.run_id):
            rec = read_record(self.runs_dir / f"{run.run_id}.json")
            if rec is None:
                continue
            if rec["status"] == "ok" and rec["run_id"] not in self.made_now:
                self.codes[rec.get("code_sha256")] += 1
            row = {"run_id": rec["run_id"], "point": rec["point"]}
            if policies:
                row["policy"] = rec["package"]
            row.update({"replicate": rec["replicate"], "seed": rec["seed"]})
            row.update({name: rec["parameters"].get(name) for name in parameter_names})
            row.update({"status": rec["status"], "error": rec["error"], "error_kind": _error_kind(rec)})
            row.update({k: (math.nan if v is None else v) for k, v in rec["outcomes"].items()})
            row["code_sha256"] = rec.get("code_sha256")  # None: a record of a bordersim that did not record it
            row["wall_time"] = rec["wall_time"]
            rows.append(row)
        df = pd.DataFrame(rows)
        if not df.empty:
            # wall_time last; one new frame rather than a column popped and inserted (which pandas warns about as
            # a "highly fragmented" frame when the runs keep a few hundred outcome columns, e.g. by_year)
            df = df[[c for c in df.columns if c != "wall_time"] + ["wall_time"]].astype({"seed": "uint64"})
        with atomic_path(self.root / "runs.parquet") as tmp:
            df.to_parquet(tmp, index=False)
        return df


    def mixed_code(self) -> MixedCodeWarning | None:
        """The warning when finished runs of the last `compile` were made by other code than this process's: kept
        from before (a sweep resumed after bordersim changed) or made now by workers running another install (a
        cluster's), else None."""
        ours = code_sha256()
        earlier = sum(n for code, n in self.codes.items() if code != ours)
        workers = sum(1 for code in self.made_now.values() if code != ours)
        if not earlier and not workers:
            return None
        return MixedCodeWarning(str(self.root), sum(self.codes.values()) + len(self.made_now), earlier,
                                self.codes.get(None, 0), workers, ours)


# What `SweepStore.record` writes, key by key: the types a record read back must have (records of earlier versions
# lack error_kind and code_sha256: they may be absent).
_NONE, _NUMBER = type(None), (int, float)
_RECORD_TYPES: dict[str, type | tuple[type, ...]] = {
    "run_id": str, "point": int, "package": (str, _NONE), "replicate": int, "seed": int, "parameters": dict,
    "status": str, "error": (str, _NONE), "outcomes": dict, "wall_time": (*_NUMBER, _NONE)}
_OPTIONAL_TYPES: dict[str, type | tuple[type, ...]] = {"error_kind": (str, _NONE), "code_sha256": (str, _NONE)}


def read_record(path: Path) -> dict | None:
    """The run record at `path` as `SweepStore.record` wrote it; None when there is none or the file is not one:
    not JSON, not an object, a key missing or of another type (a parameter value not a number, true/false, text or
    null; an outcome not a number or null), a status other than ok and failed, a seed outside [0, 2^64), a run id
    not the file's or not of its point and replicate. A sweep refuses to resume over such a file
    (`refuse_non_records`): it may be the user's."""
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("run_id") != path.stem or rec.get("status") not in ("ok", "failed"):
        return None
    for key, kind in [*_RECORD_TYPES.items(), *((k, t) for k, t in _OPTIONAL_TYPES.items() if k in rec)]:
        value = rec.get(key, ...)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            return None
    if not (0 <= rec["seed"] < 2**64 and rec["point"] >= 0 and rec["replicate"] >= 0
            and rec["run_id"] == f"p{rec['point']:05d}-r{rec['replicate']:04d}"):
        return None
    if not all(isinstance(v, (*_NUMBER, bool, str, _NONE)) for v in rec["parameters"].values()):
        return None
    if not all(isinstance(v, (*_NUMBER, _NONE)) and not isinstance(v, bool) for v in rec["outcomes"].values()):
        return None
    return rec


def _error_kind(rec: dict) -> str | None:
    """A failed run's kind; records of older versions have none: their failures count as ours."""
    if rec.get("status") == "ok":
        return None
    return rec.get("error_kind") or "internal"


# ----------------------------------------------------------------------------------------- ownership


def _entries(root: Path) -> list[str]:
    """Names in `root` other than our lock file and our temporaries: a directory holding only those is empty
    (a sweep killed right after taking the lock of a new directory leaves it so)."""
    names = [e.name for e in root.iterdir() if not (e.name.startswith(TMP_PREFIX) and e.name.endswith(TMP_SUFFIX))]
    if LOCK in names and _our_lock_file(root / LOCK):
        names.remove(LOCK)
    return names


def _our_lock_file(path: Path) -> bool:
    """A lock file as `_lock` leaves it: empty, or the JSON of its holder."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        text = path.read_text()
        return not text.strip() or set(json.loads(text)) == {"pid", "host", "command"}
    except (OSError, ValueError, TypeError):
        return False


def read_manifest(root: Path) -> dict:
    """DIR/sweep.json as a dict; UsageError naming the file when it is missing or damaged (Unreadable when the
    system refuses to let us read it)."""
    path = Path(root) / MANIFEST
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: missing; {root} is not a (complete) sweep directory") from None
    except PermissionError:
        raise Unreadable(path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: damaged, cannot be read ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: damaged (not a JSON object)")
    if not isinstance(data.get("fingerprint"), str):  # without it nobody can tell which spec made the runs
        raise UsageError(f"{path}: damaged (no fingerprint of the spec that made it)")
    return data


def _decide(root: Path, ls: LoadedSpec, force: bool) -> str:
    """What opening `root` does: "new", "resume", "legacy" (resume, writing the marker) or "replace"; raises
    UsageError when the directory may not be used, Unreadable when the system will not let us look into it.
    Reads only."""
    try:
        return _decision(root, ls, force)
    except PermissionError as exc:
        raise Unreadable(exc.filename or root, remedy="give your user access to it, or choose another --out") \
            from None


def _decision(root: Path, ls: LoadedSpec, force: bool) -> str:
    legacy = root.is_dir() and marker_kind(root) is None and (root / MANIFEST).is_file()
    # a link to an empty directory is written through, as the analyses do: its lock made it look like a
    # directory of the user's to `claim_dir`, and the sweep was refused with the lock left in it (a probe)
    if legacy or (root.is_dir() and not _entries(root)):
        why = protected_reason(root)
        if why:
            raise UsageError(f"{root}: refusing to write here: {why}; choose another --out")
        if not legacy:
            refuse_kept_from(root, "--out", replaced=False)
            return "new"
        old = _manifest_or_none(root)
        if old is not None and ls.made(old):
            refuse_non_records(root)
            return "legacy"
        what = ("holds results of a different spec "
                f"({_spec_shown(root, old)}, spec or base scenario changed)" if old is not None
                else f"has a damaged {MANIFEST}")
        raise UsageError(f"{root} {what} and was made by an older bordersim (no {MARKER} marker), so bordersim will "
                         "not delete it, even with --force: delete it yourself or choose another --out")
    if not claim_dir(root, KIND, force=force, resume=True):
        return "new"
    try:
        old = read_manifest(root)
    except Unreadable:
        raise
    except UsageError as exc:
        records = (root / "runs").is_dir() and any((root / "runs").glob("*.json"))
        if not (root / MANIFEST).exists() and not records:
            refuse_planted(root)
            return "new"  # a sweep directory killed while it was being created
        if force:
            return check_replaceable(root)
        if not records:
            raise UsageError(f"{exc.message}; pass --force to replace the sweep directory {root}") from None
        kept = sum(1 for _ in (root / "runs").glob("*.json"))
        raise UsageError(f"{exc.message}; bordersim cannot tell which spec made the {kept} run record(s) in {root}: "
                         f"restore {MANIFEST} from a backup to resume them, or choose another --out (--force would "
                         "replace the directory, discarding them)") from None
    if ls.made(old):
        refuse_non_records(root)
        for sub in (root / "runs", root / "timeseries"):  # written into as runs end: checked now, not after them
            if is_real_dir(sub):
                refuse_kept_from(sub, "--out", replaced=False)
        return "resume"
    if force:
        return check_replaceable(root)
    raise UsageError(f"{root} holds results of a different spec ({_spec_shown(root, old)}, spec or base scenario "
                     "changed); choose another --out, or pass --force to discard them")


def refuse_planted(root: Path) -> None:
    """UsageError, before bordersim writes into sweep directory ROOT again, for an entry named as the sweep's own
    files and directories that is a symbolic link or of the other type: writing would go through or over it
    (runs/ linked to a directory of the user's got its records; a linked runs.parquet was replaced by a file; a
    probe). Reads only."""
    planted = [name for name in (*_OWN_FILES, *_OWN_DIRS) if (root / name).is_symlink()
               or ((root / name).exists() and (root / name).is_dir() != (name in _OWN_DIRS))]
    if planted:
        raise UsageError(f"{root}: {', '.join(planted)} {'is' if len(planted) == 1 else 'are'} not what bordersim "
                         "wrote there (a symbolic link, or a file where it writes a directory or the other way "
                         "round); the sweep would write through or over it: move it away, or choose another --out")


def refuse_non_records(root: Path) -> None:
    """UsageError, before a sweep is resumed, when resuming would write through or over what is not bordersim's:
    `refuse_planted`, and the entries of ROOT/runs that bear a run record's name but are not a record
    (`read_record`): a record damaged since it was written, or a file of the user's; resuming would make those
    runs again and write their records over them. Reads only."""
    refuse_planted(root)
    runs = root / "runs"
    bad = sorted(p.name for p in runs.iterdir() if _RECORD.match(p.name) and read_record(p) is None) \
        if runs.is_dir() and not runs.is_symlink() else []
    if bad:
        listed = ", ".join(bad[:5]) + (f" and {len(bad) - 5:,} more" if len(bad) > 5 else "")
        raise UsageError(f"{runs}: {listed} bear{'s' if len(bad) == 1 else ''} the name of a run record but "
                         f"{'is' if len(bad) == 1 else 'are'} not one bordersim wrote (damaged since, or a file of "
                         "yours); resuming would make those runs again and write over them: move them away (the runs "
                         "are then made again) or choose another --out")


def check_replaceable(root: Path, why: str | None = None) -> str:
    """"replace" when sweep directory `root` may be replaced (deleting it loses nothing but bordersim's own files:
    `_foreign_entries`); else UsageError (saying `why` it may not hold them, if given). Reads only."""
    if root.is_symlink():
        raise UsageError(f"{root}: is a symbolic link; bordersim replaces only a real sweep directory: remove the "
                         "link or choose another --out")
    refuse_foreign(root, _foreign_entries(root), *([why] if why else []))
    refuse_kept_from(root, "--out", replaced=True)  # the new sweep, this user's, takes its place
    return "replace"


_RECORD = re.compile(r"^p[0-9]+-r[0-9]+\.json\Z")  # \Z: "$" matches before a final newline too
_SERIES = re.compile(r"^run_id=p[0-9]+-r[0-9]+\Z")
_PART = re.compile(r"^part-0\.parquet\Z")
# what `bordersim sweep` writes at the top of a sweep directory besides the marker (see the module doc): files, and
# the directories of the run records and time series
_OWN_FILES = (LOCK, MANIFEST, BASE_SCENARIO, "runs.parquet")
_OWN_DIRS = ("runs", "timeseries")


def _foreign_entries(root: Path) -> list[str]:
    """Paths under sweep directory `root` (relative to it) that no bordersim command wrote there: those of
    `sim.outputs.foreign_entries`, and inside runs/ and timeseries/ anything but run records and series. `--force`
    replaces a sweep directory only when deleting it loses nothing but bordersim's own files."""
    def own(x: Path, pattern: re.Pattern) -> bool:  # a record, a series or a temporary: files, never directories
        return bool((_OUR_TEMPORARY.match(x.name) or pattern.match(x.name)) and x.is_file() and not x.is_symlink())

    foreign = foreign_entries(root, _OWN_FILES, _OUR_TEMPORARY, _OWN_DIRS)
    runs, series = root / "runs", root / "timeseries"
    if is_real_dir(runs):
        foreign += [f"runs/{x.name}" for x in sorted(runs.iterdir()) if not (own(x, _RECORD) and _is_record(x))]
    if is_real_dir(series):
        for x in sorted(series.iterdir()):
            if _OUR_TEMPORARY.match(x.name) and x.is_file() and not x.is_symlink():
                continue
            if not (_SERIES.match(x.name) and is_real_dir(x)):
                foreign.append(f"timeseries/{x.name}")
            else:
                foreign += [f"timeseries/{x.name}/{y.name}" for y in sorted(x.iterdir()) if not own(y, _PART)]
    return foreign


def _is_record(path: Path) -> bool:
    """`path` holds a run record as the store writes it (`read_record`), or is a temporary: a file the user saved
    under a record's name (runs/p99999-r0000.json) is not one."""
    return bool(_OUR_TEMPORARY.match(path.name)) or read_record(path) is not None


def _spec_shown(root: Path, manifest: dict) -> str:
    """The spec path a manifest records, as a path from here: one relative to the sweep directory ('../x.yaml')
    is joined to ROOT."""
    recorded = str(manifest.get("spec_path"))
    return os.path.normpath(root / recorded) if recorded.startswith(".." + os.sep) else recorded


def _manifest_or_none(root: Path) -> dict | None:
    try:
        return read_manifest(root)
    except UsageError:
        return None


def _initialise(directory: Path, ls: LoadedSpec) -> None:
    """Make `directory` (empty but for the lock) a sweep directory: the marker first, so that a crash part-way
    leaves a directory bordersim knows as its own."""
    write_marker(directory, KIND)
    (directory / "runs").mkdir(exist_ok=True)
    atomic_write_text(directory / MANIFEST, _manifest_text(ls, directory))


def _manifest_text(ls: LoadedSpec, root: Path) -> str:
    """sweep.json: the fingerprint, the spec (its path and content, as of the last command that ran the sweep),
    the base scenario's name, the parameters and `made_by` (sim.provenance.stamp). The spec's path is recorded
    relative to the sweep directory ROOT when it lies in ROOT's parent (an analysis's OUT/experiment.yaml beside
    OUT/sweep: '../experiment.yaml', the same wherever OUT lies), else as it was given."""
    spec_path = str(ls.path)
    if Path(os.path.realpath(ls.path)).parent == Path(os.path.realpath(root)).parent:  # links resolved
        spec_path = os.path.join("..", ls.path.name)
    return json.dumps({
        "fingerprint": ls.fingerprint(),
        "spec_path": spec_path,
        "spec": ls.spec.model_dump(mode="json"),
        "scenario": ls.base.name,
        "parameters": ls.parameter_names,
        "made_by": stamp(),
    }, indent=2) + "\n"


def _replace(root: Path, ls: LoadedSpec, old_fd: int) -> tuple[int, Path]:
    """Build a new sweep directory beside `root` (locked), swap it in by two renames, release the old lock; return
    the new lock and the temporary directory the old sweep was moved into, for `_remove_replaced`. The old lock is
    held until the swap is done, so no other sweep can slip in between. Call it with Ctrl-C held
    (`signals_deferred`): between the renames neither directory is at `root`."""
    new = make_temp_dir(root.parent)
    fd = None
    try:
        take_mode(new, root.stat())  # a private sweep stays private
        fd = lock_dir(new, "sweep")
        _initialise(new, ls)
        trash = make_temp_dir(root.parent)
        os.replace(root, trash / "old")
        os.replace(new, root)
    except BaseException:
        if fd is not None:
            os.close(fd)
        shutil.rmtree(new, ignore_errors=True)
        raise
    unlock_dir(old_fd)
    return fd, trash


def _remove_replaced(trash: Path) -> None:
    """Delete the replaced sweep (`_replace`) and its temporary directory. Interrupted, what is left is a
    temporary of this process (`.bordersim-<pid>-*.tmp`), which the next sweep into the same parent removes."""
    remove_owned(trash / "old", KIND)
    (trash / MARKER).unlink()
    trash.rmdir()


# ------------------------------------------------------------------------------------------------ reading


def check_sweep_dir(root: str | Path) -> Path:
    """`root` if it is a sweep directory with runs.parquet; otherwise UsageError saying what it is and what to run
    (a sensitivity or calibration directory holds its runs in sweep subdirectories)."""
    root = Path(root)
    check_readable_dir(root, "give a sweep directory made by `bordersim sweep`")
    kind = marker_kind(root)
    if kind is None and not (root / MANIFEST).exists():
        kind = _legacy_kind(root)
    if kind in _ANALYSIS_RESULTS:
        subs = [d for d in ("sweep", "sweep_round2", "check") if (root / d / MANIFEST).exists()]
        runs = (f"its runs are in the sweep director{'ies' if len(subs) > 1 else 'y'} "
                + ", ".join(str(root / d) for d in subs) + f": `bordersim summarize {root / subs[0]}`") if subs \
            else "it has no finished sweep yet"
        files, command = _ANALYSIS_RESULTS[kind]
        results = (f"its results are {' and '.join(str(root / f) for f in files)} (`bordersim {command}`)"
                   if all((root / f).is_file() for f in files) else
                   f"it has not finished, so its results are not there yet (the same `bordersim {command}` command "
                   "finishes it)")
        raise UsageError(f"{root} is {with_article(kind)} directory, not a sweep directory: {results}; {runs}")
    if kind in ("run", "figures", "comparison"):
        instead = {"run": "", "figures": " (give the directory its figures were drawn from to `bordersim plot`)",
                   "comparison": f" (its tables are {', '.join(COMPARISON_TABLES[:-1])} and {COMPARISON_TABLES[-1]})"
                   }[kind]
        raise UsageError(f"{root} is {with_article(kind)} directory, not a sweep directory{instead}; `bordersim "
                         "summarize` takes a directory made by `bordersim sweep`")
    if kind is None and not (root / MANIFEST).exists():
        if any(root.iterdir()):  # a directory of the user's: a sweep would refuse it as --out too
            raise UsageError(f"{root} is not a sweep directory (no {MANIFEST}, and bordersim did not make it); give "
                             "the directory `bordersim sweep SPEC --out DIR` wrote")
        raise UsageError(f"{root} is not a sweep directory (no {MANIFEST}); run `bordersim sweep SPEC --out {root}` "
                         "first")
    if not (root / "runs.parquet").exists():
        raise UsageError(f"{root} is a sweep directory without runs.parquet; {unfinished(root, 'sweep')}")
    refuse_if_held(root)  # a sweep under way or being resumed: runs.parquet is not its result yet
    return root


# the analyses whose runs lie in sweep subdirectories: their result files and command
_ANALYSIS_RESULTS = {"sensitivity": (("indices.csv", "ranking.txt"), "sensitivity"),
                     "calibration": (("posterior_table.md", "calibration.json"), "calibrate"),
                     "effects": (("effects.csv", "effects.json"), "effects"),
                     "discovery": (("box.csv", "summary.txt"), "discover")}


def _legacy_kind(root: Path) -> str | None:
    """The kind of a directory made before markers existed, from its files."""
    if (root / "summary.json").exists():
        return "run"
    if (root / "calibration.json").exists() or ((root / "base.yaml").exists() and (root / "sweep").is_dir()):
        return "calibration"
    if (root / "experiment.yaml").exists() or (root / "indices.csv").exists():
        return "sensitivity"
    return None


def load_sweep(root: str | Path) -> pd.DataFrame:
    """runs.parquet of a sweep directory (one row per run), read and checked as `plot` and `compare` read it
    (`sim.directories.load_sweep_dir`: its run and outcome columns, the parameters sweep.json names); an
    InputError naming the file when it is missing, cannot be read or lacks a column."""
    from sim.directories import load_sweep_dir

    return load_sweep_dir(check_sweep_dir(path_argument(root, "root"))).runs

