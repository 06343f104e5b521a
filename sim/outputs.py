"""Where bordersim writes, and the rule that keeps it from destroying anything it did not make.

The output-directory rule (docs/outputs.md):

- Every directory bordersim creates holds a marker file, `.bordersim`, naming its kind: `run`, `sweep`,
  `sensitivity`, `calibration`, `effects`, `discovery`, `figures` or `comparison`. The marker holds no time stamp, so
  outputs stay reproducible.
- An existing directory is replaced (`--force`) or resumed only if its marker names the same kind. Anything else -
  a file, a directory of another kind, a directory bordersim did not make - is refused with a message (exit 2) and
  nothing is deleted. An empty directory may be used as it is.
- Never the file-system root, the home directory, the current directory or any parent of it, with or without
  `--force`.
- Every file is written to a temporary name in its own directory and renamed into place, so a crash or a full disk
  leaves the old file or the new one, never a fragment. Temporaries are named `.bordersim-<pid>-<random>.tmp`;
  those of processes that are no longer alive are removed the next time bordersim writes beside them.
- Names that become paths (scenario, spec names) are single safe path components (`SAFE_NAME`).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sim.api_checks import path_too_long
from sim.errors import UsageError, WriteFailed, shown, with_article
from sim.interrupts import signals_deferred

if TYPE_CHECKING:
    import pandas as pd

MARKER = ".bordersim"
LOCK = ".lock"  # the lock file of a sweep or analysis directory (`lock_dir`)
KINDS = ("run", "sweep", "sensitivity", "calibration", "effects", "discovery", "figures", "comparison")
TMP_PREFIX = ".bordersim-"
TMP_SUFFIX = ".tmp"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}\Z")  # \Z: "$" also matches before a final newline
SAFE_NAME_RULE = ("1 to {most} characters: ASCII letters, digits, '.', '_' or '-', starting with a letter or digit "
                  "(a name becomes a directory name)")
_TMP_RE = re.compile(r"^\.bordersim-([0-9]+)-[A-Za-z0-9_]+\.tmp\Z")


MAX_NAME = 80  # characters of a SAFE_NAME


def check_name(name: str, *, room: int = 0, why: str = "") -> str:
    """Return `name` if it is a safe single path component (`SAFE_NAME`) that stays one with `room` characters
    appended (`why` says what is appended), else raise ValueError (for schemas)."""
    if not isinstance(name, str) or not SAFE_NAME.match(name) or name in (".", ".."):
        raise ValueError(f"{shown(name)} is not a valid name: use {SAFE_NAME_RULE.format(most=MAX_NAME - room)}")
    if len(name) + room > MAX_NAME:
        raise ValueError(f"{shown(name)} is too long: at most {MAX_NAME - room} characters ({why})")
    return name


def default_dir(*parts: str) -> Path:
    """results/<part>/... for names already checked by `check_name` (asserted again here: defaults stay under
    results/)."""
    for part in parts:
        check_name(part)
    return Path("results").joinpath(*parts)


# ------------------------------------------------------------------------------------------------ ownership


def real_target(path: str | Path) -> Path:
    """`path` itself, or, when it holds '..', the path it names (`os.path.realpath`): 'new/../x' names ./x,
    which a check of the text 'new/../x' would miss (the kernel finds no 'new', so 'x' looks absent), and which
    writing (creating 'new') would then reach."""
    p = Path(path)
    return Path(os.path.realpath(p)) if ".." in p.parts else p



def marker_kind(path: Path) -> str | None:
    """The kind written in `path`/.bordersim, or None when there is no readable marker."""
    try:
        data = json.loads((Path(path) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if kind in KINDS else None


def protected_reason(path: Path) -> str | None:
    """Why `path` may never be used as an output directory, or None."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:
        return f"cannot resolve it ({exc})"
    cwd = Path.cwd().resolve()
    if resolved == Path(resolved.anchor):
        return "it is the root of the file system"
    if resolved == Path.home().resolve():
        return "it is the home directory"
    if resolved == cwd:
        return "it is the current directory"
    if resolved in cwd.parents:
        return "it contains the current directory"
    return None


def enclosing_dirs(path: Path) -> Iterator[tuple[str, Path]]:
    """(kind, directory) of each directory above `path` that bordersim made (its marker), nearest first."""
    for parent in path.parents:
        kind = marker_kind(parent)
        if kind is not None:
            yield kind, parent


def refuse_enclosed(path: Path, what: str = "--out") -> None:
    """UsageError when `path` lies inside a directory bordersim made: a directory of its own there (a run, a
    comparison, a sweep or an analysis given --out) would make bordersim refuse to replace that directory with
    --force, holding what bordersim did not write to it."""
    enclosing = next(enclosing_dirs(Path(os.path.realpath(path))), None)  # `sub` in R/notes/ is in R, too
    if enclosing is not None:
        raise UsageError(f"{path}: lies inside the {enclosing[0]} directory {enclosing[1]}, which bordersim made (it "
                         f"could then no longer replace that directory with --force); choose another {what}")


def claim_dir(path: str | Path, kind: str, *, force: bool = False, resume: bool = False, what: str = "--out",
              alone: bool = False, replaced: bool = False) -> bool:
    """Check that bordersim may write a `kind` directory at `path`; True when it exists and may be replaced or
    resumed, False when it does not exist or is empty. Raises UsageError (nothing touched) otherwise:
    - a protected place (root, home, the current directory or a parent of it), a file;
    - with `alone` (a directory of its own: a run, a comparison), a place inside another directory bordersim made,
      which could then no longer be replaced with --force (what bordersim did not write there is kept);
    - an existing directory (empty, or to resume or replace) its owner may not read, write and enter, or, with
      `replaced` (the directory bordersim builds takes its place: a run, a comparison), another user's;
    - a non-empty directory without a `kind` marker (even with force);
    - a `kind` directory when neither force nor resume is given."""
    assert kind in KINDS, kind
    p = real_target(path)
    _check_name_lengths(p, what)
    why = protected_reason(p)
    if why:
        raise UsageError(f"{p}: refusing to write here: {why}; choose another {what}")
    if alone:
        refuse_enclosed(p, what)
    if not p.exists() and not p.is_symlink():
        _check_writable(p, what)
        return False
    if p.is_symlink() and not p.exists():  # it was 'exists and is not a directory' (a probe)
        raise UsageError(f"{p}: is a symbolic link to {os.readlink(p)}, which does not exist; give a directory "
                         f"path or choose another {what}")
    if not p.is_dir():
        raise UsageError(f"{p}: exists and is not a directory; choose another {what}")
    try:
        empty = not any(p.iterdir())
    except OSError as exc:
        raise UsageError(f"{p}: cannot read the directory ({exc.strerror}); choose another {what}") from None
    if empty:
        refuse_kept_from(p, what, replaced=replaced)
        return False
    found = marker_kind(p)
    if found is None:
        raise UsageError(f"{p}: exists and was not made by bordersim (no {MARKER} marker); bordersim never "
                         f"deletes or writes into such a directory, even with --force: choose another {what}")
    if found != kind:
        raise UsageError(f"{p}: is a bordersim {found} directory, not {with_article(kind)} directory; choose another "
                         f"{what}")
    if not (force or resume):
        raise UsageError(f"{p}: {kind} directory exists; choose another {what} or pass --force to replace it")
    refuse_kept_from(p, what, replaced=replaced)
    return True


def refuse_kept_from(p: Path, what: str, *, replaced: bool) -> None:
    """UsageError when bordersim may not take the existing directory `p` (empty, or one of its own kind to resume
    or replace) as it is: its owner may not read, write and enter it (read-only by choice, while bordersim, as
    root, would write in it or replace it all the same), or, where it is `replaced` by the directory bordersim
    builds (a run or comparison, or any directory --force replaces), it belongs to another user (the new one
    would be this user's); one written into (a sweep or analysis resumed) may be another user's. A directory
    replaced keeps its permission bits and group (`take_mode`)."""
    st = p.stat()
    mode = stat.S_IMODE(st.st_mode)
    if mode & stat.S_IRWXU != stat.S_IRWXU:
        raise UsageError(f"{p}: its owner may not read, write and enter it (mode {mode:04o}); bordersim does not "
                         f"change a directory's permissions: give the owner those rights (chmod u+rwx) or choose "
                         f"another {what}")
    if replaced and st.st_uid != os.geteuid():
        raise UsageError(f"{p}: belongs to another user (uid {st.st_uid}); bordersim replaces it by the directory it "
                         f"builds, which would be yours: choose another {what}")


def _check_name_lengths(p: Path, what: str) -> None:
    """Refuse a path no file system here can hold (`sim.api_checks.path_too_long`)."""
    why = path_too_long(str(p))
    if why:
        raise UsageError(f"{p}: {why}; choose another {what}")


def _check_writable(p: Path, what: str) -> None:
    """Refuse, before any work, a name the file system cannot hold or a place where nothing can be created: the
    nearest existing ancestor of `p` must take a temporary directory (made and removed at once)."""
    ancestor = p.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"{p}: {ancestor} is not a directory; choose another {what}")
    try:
        with signals_deferred():  # not left behind by a Ctrl-C between the two calls
            os.rmdir(tempfile.mkdtemp(prefix=_tmp_prefix(), suffix=TMP_SUFFIX, dir=ancestor))
    except OSError as exc:
        raise UsageError(f"{p}: cannot write in {ancestor} ({exc.strerror}); choose another {what}") from None


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn an OSError of writing `path` (no space, no permission, read-only file system) into a WriteFailed."""
    try:
        yield
    except OSError as exc:
        raise WriteFailed(f"{path}: cannot write ({exc.strerror or exc}); nothing was replaced", exc.errno) from None


def write_marker(directory: Path, kind: str) -> None:
    atomic_write_text(Path(directory) / MARKER, json.dumps({"kind": kind, "made_by": "bordersim"}) + "\n")


def remove_owned(path: str | Path, kind: str) -> None:
    """Delete a directory bordersim made as `kind` (checked again here, right before deleting)."""
    p = Path(path)
    if protected_reason(p) or marker_kind(p) != kind or p.is_symlink():
        raise UsageError(f"{p}: not a bordersim {kind} directory; not deleted")
    shutil.rmtree(p)


# ---------------------------------------------------------------------------------------------- temporaries


def clean_stale_temporaries(directory: str | Path) -> None:
    """Remove `.bordersim-<pid>-*.tmp` entries of `directory` whose process is no longer alive: files, empty
    directories, and directories holding bordersim's marker."""
    d = Path(directory)
    try:
        entries = list(d.iterdir())
    except OSError:
        return
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if not m or _alive(int(m.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            if _made_by_bordersim(entry):  # a directory of yours that bears such a name is never touched
                shutil.rmtree(entry, ignore_errors=True)
            else:  # an empty one (a process cut short between creating it and its marker, or its last step)
                try:
                    entry.rmdir()
                except OSError:  # not empty: not known to be bordersim's
                    pass
        else:
            try:
                entry.unlink()
            except OSError:
                pass


def _made_by_bordersim(directory: Path) -> bool:
    """`directory` holds a marker bordersim wrote (`make_temp_dir` writes one into every temporary directory)."""
    try:
        data = json.loads((directory / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("made_by") == "bordersim"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process; or a number no pid can be
        return False
    except PermissionError:
        return True
    return True


def _tmp_prefix() -> str:
    return f"{TMP_PREFIX}{os.getpid()}-"


def make_temp_dir(parent: Path) -> Path:
    """A fresh temporary directory in `parent` (created if missing), with the usual permissions (umask), holding a
    marker of kind "temporary" (replaced by the kind of what is built in it), so that `clean_stale_temporaries`
    removes it once its process has ended, and never a directory of the user's that bears such a name."""
    parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(parent)
    with signals_deferred():  # a Ctrl-C here left a directory without its marker, which nothing removed
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(), suffix=TMP_SUFFIX, dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700
        atomic_write_text(tmp / MARKER, json.dumps({"kind": "temporary", "made_by": "bordersim"}) + "\n")
    return tmp


def remove_temp_dir(tmp: Path) -> None:
    """Delete a temporary directory of `make_temp_dir`, its marker last: interrupted, what is left still bears
    the marker, so `clean_stale_temporaries` removes it once this process has ended (`shutil.rmtree` could take
    the marker first and leave the rest to nobody)."""
    try:
        entries = [e for e in tmp.iterdir() if e.name != MARKER]
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` for a writer (savefig, to_parquet, ...); renamed onto `path` when the
    block ends without error, removed otherwise. The file keeps the permission bits of the file it replaces (a
    private 0600 scenario stays private); a new file gets 0666 less the umask. (A rename makes a new file: hard
    links to the old one keep the old content.)"""
    target = real_target(path)
    with writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=_tmp_prefix(), suffix=TMP_SUFFIX, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        with writing(target):
            yield tmp
            try:
                mode = stat.S_IMODE(os.stat(target).st_mode)  # the replaced file's
            except FileNotFoundError:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.chmod(tmp, mode)  # mkstemp makes 0600
            os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same directory and a rename."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_if_changed(path: Path, text: str) -> None:
    """Atomic write, skipped when the file already holds exactly this text (so that a resumed sweep or analysis
    rewrites nothing)."""
    if path.is_file() and path.read_text() == text:
        return
    atomic_write_text(path, text)


def path_from(directory: str | Path, path: str | Path) -> str:
    """`path` written relative to `directory` ('../../experiments/toy_effects.yaml'): how an output records where
    its inputs were, so that the same command gives the same bytes wherever the tree holding both lies (another
    clone, another machine) and from whatever working directory it was typed. Links are not resolved (a results/
    that is a link to scratch space would take the path up to the root and a home directory into it); where no
    relative path exists (another drive), the absolute path."""
    try:
        return os.path.relpath(os.path.abspath(path), os.path.abspath(directory))
    except ValueError:
        return os.path.abspath(path)


REPORT_GENERATOR = '<meta name="generator" content="bordersim">'  # in the head of every report
_LEGACY_REPORT_HEAD = "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"  # reports before the tag
FIGURE_CREATOR = "bordersim"  # the creator written into every figure file's metadata (sim.plots.style.save)
# How FIGURE_CREATOR shows, whole, in each format (searched in the file's first or last 16 KiB): a PNG text chunk
# of exactly Software\0bordersim (its length, 18, first), an SVG's RDF creator, a PDF's /Creator entry
_CREATOR = re.escape(FIGURE_CREATOR.encode())
_FIGURE_SIGNATURES = {
    ".png": (re.compile(b"\\x00\\x00\\x00" + re.escape(bytes([9 + len(FIGURE_CREATOR)])) + b"tEXtSoftware\\x00"
                        + _CREATOR), "head"),
    ".svg": (re.compile(b"<dc:creator>\\s*<cc:Agent>\\s*<dc:title>" + _CREATOR + b"</dc:title>"), "head"),
    ".pdf": (re.compile(b"/Creator \\(" + _CREATOR + b"\\)"), "tail"),
}
FIGURE_FORMATS = tuple(suffix[1:] for suffix in _FIGURE_SIGNATURES)  # what figures are drawn in (`plot --format`)
_SIGNATURE_SPAN = 16384


def _regular_file_bytes(path: Path, where: str) -> bytes | None:
    """The first or last _SIGNATURE_SPAN bytes of `path` if it is a regular file (not a link), else None."""
    if path.is_symlink() or not path.is_file():
        return None
    try:
        with open(path, "rb") as fh:
            if where == "tail":
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - _SIGNATURE_SPAN))
            return fh.read(_SIGNATURE_SPAN)
    except OSError:
        return None


def is_bordersim_report(path: Path) -> bool:
    """True when `path` is a regular file that bordersim wrote as a report: it starts with the head every report
    has, REPORT_GENERATOR in its place (a page of the user's that merely mentions the tag is not one), or is a
    report of an earlier version: that head without the tag and a 'bordersim report:' title."""
    head = _regular_file_bytes(path, "head")
    if head is None:
        return False
    text = head[:4096].decode("utf-8", errors="replace")
    return text.startswith(_LEGACY_REPORT_HEAD + REPORT_GENERATOR) or (
        text.startswith(_LEGACY_REPORT_HEAD) and "<title>bordersim report: " in text)


def is_bordersim_figure(path: Path) -> bool:
    """True when `path` is a regular PNG, SVG or PDF file whose metadata names FIGURE_CREATOR as its creator (as
    `sim.plots.style.save` writes it), so bordersim may replace or remove it."""
    signature = _FIGURE_SIGNATURES.get(path.suffix.lower())
    if signature is None:
        return False
    data = _regular_file_bytes(path, signature[1])
    return data is not None and signature[0].search(data) is not None


def refuse_foreign_figures(directory: Path, names: Iterable[str]) -> None:
    """UsageError unless each of DIRECTORY/<name> is absent or a figure bordersim wrote (`is_bordersim_figure`):
    a link, a directory or a file of the user's bearing a figure's name is never replaced."""
    for name in names:
        path = Path(directory) / name
        if path.is_symlink() or (path.exists() and not is_bordersim_figure(path)):
            raise UsageError(f"{path}: exists and is not a figure bordersim wrote (its metadata do not name "
                             f"{FIGURE_CREATOR} as its creator); move it away or choose another --out")


def is_real_dir(path: Path) -> bool:
    """`path` is a directory, not a symbolic link to one."""
    return path.is_dir() and not path.is_symlink()


def foreign_entries(root: Path, own: Iterable[str], temporary: re.Pattern = _TMP_RE,
                    own_dirs: Iterable[str] = ()) -> list[str]:
    """Entries of directory `root` (paths relative to it) that bordersim did not write there, so that replacing
    `root` would delete a user's file or directory: at the top anything but the marker, the files named in `own`,
    the directories named in `own_dirs` (whose contents the caller checks), a `report.html` bordersim wrote
    (`is_bordersim_report`), `figures/` and bordersim's temporaries (`temporary`); inside `figures/` anything but
    its marker, temporaries and figures bordersim wrote (`is_bordersim_figure`). A name of `own` that is a
    directory, an empty one too, is the user's (bordersim writes a file there), and so is an empty `figures/`
    without bordersim's marker (bordersim marks a figures directory before it draws into it; an unmarked one
    holding figures bordersim wrote is an earlier version's). A symbolic link is never bordersim's."""
    files, dirs = {MARKER, *own}, set(own_dirs)
    foreign: list[str] = []

    def ours(x: Path) -> bool:  # a temporary of bordersim's is a file (mkstemp): a directory so named is not
        return bool(temporary.match(x.name)) and x.is_file() and not x.is_symlink()

    for e in sorted(root.iterdir()):
        if ours(e) or (e.name in files and e.is_file() and not e.is_symlink()) or (e.name in dirs and is_real_dir(e)):
            continue
        if e.name == "report.html" and is_bordersim_report(e):
            continue
        if e.name == "figures" and is_real_dir(e) and (marker_kind(e) == "figures" or any(e.iterdir())):
            foreign += [f"figures/{x.name}" for x in sorted(e.iterdir())
                        if not (x.name == MARKER or ours(x) or is_bordersim_figure(x))]
        else:
            foreign.append(e.name)
    return foreign


def refuse_foreign(root: Path, foreign: list[str],
                   why: str = "so bordersim will not replace it, even with --force") -> None:
    """UsageError naming the first of `foreign` (see `foreign_entries`): bordersim will not replace `root`."""
    if foreign:
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        raise UsageError(f"{root} holds what bordersim did not write ({', '.join(foreign[:5])}{more}), {why}: move "
                         "those away, or choose another --out")


@contextmanager
def new_dir(out: str | Path, kind: str, own: Iterable[str], *, force: bool = False,
            what: str = "--out") -> Iterator[Path]:
    """Build a whole `kind` directory, whose files are named `own`, in a temporary sibling and rename it onto
    `out` when the block ends without error (replacing an existing `kind` directory only with force, see
    `claim_dir`, and only when it holds nothing bordersim did not write, `foreign_entries`). What is replaced is
    decided by the check at the start: a directory another command wrote at an `out` that was absent or empty
    then (two runs given one --out at once) is never replaced, by a rename that fails when its target is not
    empty; the command then ends with a UsageError and writes nothing. The parent directories it made for `out`
    are removed again when the directory is not written (an error, Ctrl-C), each while it is empty."""
    out = real_target(out)
    replacing = claim_dir(out, kind, force=force, what=what, alone=True, replaced=True)
    if replacing:
        refuse_foreign(out, foreign_entries(out, own))
    if out.is_symlink():  # the rename below would replace the link itself, a file of the user's
        raise UsageError(f"{out}: is a symbolic link; bordersim writes only a real directory here: give the path it "
                         f"points to ({os.path.realpath(out)}) or choose another {what}")
    made: list[Path] = []  # the parents this call creates, deepest first
    try:
        with writing(out):
            _make_parents(out.parent, made)
            tmp = make_temp_dir(out.parent)
    except BaseException:
        _remove_made(made)
        raise
    try:
        with writing(out):
            yield tmp
            write_marker(tmp, kind)
            if replacing and out.exists() and any(out.iterdir()):
                take_mode(tmp, out.stat())
                old = make_temp_dir(out.parent)
                with signals_deferred():  # between the renames neither directory is at `out`
                    os.replace(out, old / "old")
                    os.replace(tmp, out)
                remove_temp_dir(old)
            else:
                _rename_onto_empty(tmp, out, kind, what)
    except BaseException:
        remove_temp_dir(tmp)
        _remove_made(made)
        raise


def _make_parents(directory: Path, made: list[Path]) -> None:
    """Create `directory` and its missing ancestors one level at a time, putting each one this call created (an
    os.mkdir that succeeded) at the front of `made`: one another process made meanwhile is not this call's."""
    missing = []
    for d in (directory, *directory.parents):
        if os.path.lexists(d):
            break
        missing.append(d)
    for d in reversed(missing):  # the outermost first
        with signals_deferred():  # a directory made is recorded as made
            try:
                os.mkdir(d)
            except FileExistsError:
                continue
            made.insert(0, d)


def _remove_made(made: list[Path]) -> None:
    """Remove the parent directories made for an output that was not written (deepest first), each only while it
    is empty: whatever was put in one since keeps it, and its ancestors."""
    for d in made:
        try:
            d.rmdir()
        except FileNotFoundError:  # removed by someone else since
            continue
        except OSError:
            return


def take_mode(tmp: Path, st: os.stat_result) -> None:
    """Give `tmp` the permission bits and group of the directory it replaces (`st`; a private directory stayed
    private only by chance: a probe); where that group cannot be given, the default one stays, without the
    group's rights."""
    mode = stat.S_IMODE(st.st_mode)
    try:
        os.chown(tmp, -1, st.st_gid)
    except OSError:
        mode &= ~(stat.S_IRWXG | stat.S_ISGID)
    os.chmod(tmp, mode)  # after chown, which may clear a setgid bit


def _rename_onto_empty(tmp: Path, out: Path, kind: str, what: str) -> None:
    """Rename directory `tmp` onto `out`, which was absent or an empty directory when checked. Both steps fail,
    atomically, when `out` has since been filled (rmdir and rename of a directory onto a non-empty one): a
    UsageError, and `out` is kept as the other command left it. An empty directory there is replaced by `tmp`
    with its permission bits and group (`take_mode`)."""
    try:
        with signals_deferred():  # an empty directory of the user's is not lost between the two steps
            if out.is_dir() and not out.is_symlink():
                take_mode(tmp, out.stat())
                out.rmdir()
            os.replace(tmp, out)
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise
        raise UsageError(f"{out}: another command wrote here while this one ran (there was nothing here when this "
                         f"one started); it is kept as it is and this {kind} was not written: choose another "
                         f"{what}") from None


# ---------------------------------------------------------------------------------------------- reading back


def read_parquet(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A parquet file bordersim wrote, read from the local file system by its absolute path: given a path alone,
    pyarrow reads `name:rest` as a URI of scheme `name`, so a directory called `res:1` could be written but not
    read back. (Not through a Python file object: pyarrow then aborted the interpreter at exit now and then,
    "terminate called without an active exception".) Raises OSError (FileNotFoundError for a missing file) and
    ValueError (ArrowInvalid) as pyarrow does."""
    import pandas as pd
    from pyarrow import fs

    return pd.read_parquet(os.path.abspath(path), columns=columns, filesystem=fs.LocalFileSystem())


def check_readable_dir(root: Path, give: str) -> None:
    """UsageError unless `root` is a directory bordersim can read: a missing path, a file, or a directory that
    cannot be listed (Path.exists() of a file inside it would raise PermissionError) is named, with `give` (what
    to pass instead)."""
    if not root.is_dir():
        raise UsageError(f"{root}: {'is a file, not a directory' if root.exists() else 'no such directory'} ({give})")
    try:
        os.listdir(root)
    except OSError as exc:
        raise UsageError(f"{root}: cannot read this directory ({exc.strerror or exc})") from None


def lock_dir(directory: Path, what: str) -> int:
    """Take DIR/.lock (an exclusive `fcntl.flock`, without waiting) and write the holder into it (pid, host,
    command); return its descriptor, held until `unlock_dir` (the OS releases it when the holder exits or is
    killed). UsageError naming the holder if another process has it: another `what` (a sweep, an analysis) is
    writing to the directory."""
    path = directory / LOCK
    try:  # not through a symbolic link: the lock file is truncated, and a link's target is someone's file
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"{path}: is a symbolic link, not the lock file bordersim writes there; bordersim does "
                             "not write through it: remove the link, or choose another --out") from None
        raise UsageError(f"{path}: cannot create the lock file ({exc.strerror}); choose another --out") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise UsageError(f"{directory}: another {what} is writing to this directory ({holder}); wait until it "
                         "ends, or stop it, or choose another --out") from None
    except OSError as exc:
        os.close(fd)
        raise UsageError(f"{path}: cannot lock it ({exc.strerror}); choose another --out") from None
    info = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv)}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
    return fd


@contextmanager
def writing_alone(directory: Path, what: str) -> Iterator[None]:
    """Hold an exclusive `fcntl.flock` on `directory` itself (its inode: no file is added to it) while `what` is
    written into it; UsageError, without waiting, while another process holds it. For a directory whose files two
    commands would otherwise interleave (figures: two `plot --out D` at once left D with some of each's)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"{directory}: another bordersim command is writing {what} into this directory; wait "
                             "until it ends, or choose another --out") from None
        except OSError:
            pass  # a file system without flock: written without the hold, as before it existed
        yield
    finally:
        os.close(fd)  # releases the flock


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 65536, 0).decode())
        return f"pid {info['pid']} on {info['host']}: {info['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder not known yet"


def held_by(directory: Path) -> str | None:
    """The holder of DIR/.lock (pid, host, command) while a process holds it, else None; reads only (the lock
    file is not created)."""
    try:
        fd = os.open(directory / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(fd)
    except OSError:
        return None
    finally:
        os.close(fd)  # releases a lock taken here
    return None


def refuse_if_held(directory: Path) -> None:
    """UsageError when another process holds DIR/.lock (`held_by`): it is writing the directory (a sweep or an
    analysis under way, or being resumed), so what is there now is not its result."""
    holder = held_by(directory)
    if holder is not None:
        raise UsageError(f"{directory}: a bordersim command is writing it ({holder}); what it holds now is not its "
                         "result: wait until that command ends")


def unfinished(directory: Path, command: str) -> str:
    """What to do about a bordersim directory whose `command` has not finished: wait while another process
    writes it (`held_by`), else run the same command again."""
    holder = held_by(directory)
    if holder is not None:
        return f"`bordersim {command}` is still writing it ({holder}): wait until it ends"
    return (f"run the same `bordersim {command}` command again to finish it (if it stopped on bad input, with the "
            "input mended)")


def unlock_dir(fd: int) -> None:
    """Release a lock taken by `lock_dir`, clearing the holder's name from the lock file."""
    try:
        os.ftruncate(fd, 0)
    except OSError:
        pass
    os.close(fd)  # releases the flock
