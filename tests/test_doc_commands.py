"""Every command the docs show works: the snippets of README.md and docs/*.md are extracted and run.

Rules (also the rules for writing the docs):

* A **command** is a line of a code block (indented or fenced) that starts with `bordersim ` or `python`; a
  trailing `# comment` is not part of it. The blocks run in order, in one temporary directory holding copies of
  `scenarios/` and `experiments/`, so a later command may read what an earlier one wrote (`bordersim run ...
  --out results/toy` then `bordersim plot results/toy`).
* **Small runs**: in the copies every scenario's `population.size` is cut to `SMALL`, so a command that runs a
  scenario (run, sweep, sensitivity, ...) runs it small (a `--set population.size=...` in a command still wins,
  as it would for a user), and every spec runs 1 replicate and Morris designs 2 trajectories.
* All files run in one directory, README.md first, then docs/*.md in name order, so docs/plots.md can plot the
  directories the README's tour wrote; a command shown twice runs once.
* A **synopsis** (a line with a placeholder in capitals such as `SPEC`, `DIR`, `PATH`, or an optional part in
  ` [...]`) is not run, but its `--set` paths are checked.
* A command too **expensive** to run here is listed in `EXPENSIVE` with the reason; only those are skipped, and
  an entry that no longer matches a command of the docs fails the test (the list cannot go stale).
* The commands that draw figures (`plot`, `report`, `sensitivity`, `calibrate`, `discover`: matplotlib takes
  seconds each) run only in the slow test (`pytest -m slow`); everything else runs in the default suite.
* Every `--set PATH=VALUE` in the docs, and every parameter path of a spec shown in a ```yaml block (its
  `parameters`, `fixed` and policy packages), must resolve against the scenario it names (`sim.scenario.
  load_scenario(..., overrides=[...])`); a `--set` line without a scenario is checked against scenarios/korea.yaml.
* A ```python block runs in the same directory (with `population.size=50000` cut to `SMALL`); it must not raise.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.loading import load_scenario
from sim.scenario.yaml_reader import parse_yaml

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SMALL = 2000

# command text (as in the docs, comment stripped) -> why it is not run here
EXPENSIVE = {
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/bordersim run scenarios/korea.yaml":
        "creates a virtual environment and installs bordersim and its dependencies (minutes); the run itself is a "
        "full-size Korea run (15 s)",
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/python -m pytest -q":
        "installs, then runs this very test suite",
    "bordersim calibrate experiments/korea_calibration.yaml":
        "512 x 2 Korea runs plus a refinement round (about an hour at full size)",
    "bordersim calibrate experiments/korea_calibration_full.yaml --workers 2":
        "1,024 x 2 Korea runs, a refinement round of 256 x 2 and the check (hours at full size); with the docs' "
        "small-size cut it ran 27 minutes and stopped with exit 2 ('no parameter point produced a finite "
        "distance': the targets are counts of the full-size scenario)",
    "bordersim calibrate experiments/korea_calibration_smc.yaml --workers 2 --write-scenario scenarios/korea.yaml":
        "the sequential ABC calibration whose values korea.yaml holds (4,313 Korea runs, about an hour); it "
        "rewrites scenarios/korea.yaml",
    "python experiments/check_korea.py": "five Korea runs at full size (4 million people), by design",
    "bordersim sensitivity experiments/toy_sobol.yaml --method sobol --out results/toy_sobol --workers 2":
        "Sobol at 512 base samples x (3 + 2) = 2,560 points even at 1 replicate; the Morris command is run",
    "bordersim sensitivity experiments/korea_sensitivity.yaml --method morris --out results/korea_morris "
    "--workers 2": "hundreds of Korea runs over the whole 1998-2024 horizon",
    "bordersim sensitivity experiments/korea_sensitivity.yaml --method sobol --workers 2 --out results/korea_sobol":
        "2,496 Korea runs at 1 M persons (about 30 minutes on 2 workers)",
    "bordersim discover experiments/korea_discover.yaml --out results/korea_discover --workers 2":
        "300 Korea runs over the whole 1998-2024 horizon (about 5 minutes on 2 idle cores at full size)",
    "bordersim sweep experiments/korea_closure.yaml --workers 2": "60 Korea runs at full size (about 30 s)",
    "bordersim plot results/korea_closure --baseline lifted_2023":
        "needs the 60-run Korea closure sweep (experiments/korea_closure.yaml), not run here",
    "python experiments/bench_sweep.py --json out.json": "the sweep benchmark itself (minutes)",
    **{f"bordersim run scenarios/korea.yaml --engine arrays --out results/korea-{step}{extra}":
       "a whole full-size Korea run (4 million persons; by weeks 1,409 steps), as in the README's first command"
       for step, extra in (("month", ""), ("week", " --set time.step=week"))},
    "bordersim dashboard scenarios/korea.yaml":
        "serves the page until stopped; tests/test_dashboard.py starts the command and drives it in a browser",
    **{f"bordersim sweep experiments/validate_{name}.yaml --workers 2":
       "Korea runs keep their initial stock of 5,970 in China (the docs' small-size cut reaches population.size "
       "only): seconds each; the specs are loaded by test_validation_specs_load"
       for name in ("fee", "stop_departures", "china_closed", "reopen", "dmz_mines")},
    "bordersim summarize results/validate_fee --baseline no_fee_rise --outcome year.2023.arrived "
    "--outcome year.2024.arrived": "needs the validate_fee sweep (not run here)",
    "bordersim summarize results/validate_stop_departures --baseline departures --outcome year.2012.arrived "
    "--outcome year.2013.arrived --outcome year.2014.arrived --outcome year.2016.arrived --outcome year.2018.arrived":
        "needs the validate_stop_departures sweep (not run here)",
    "bordersim summarize results/validate_china_closed --baseline open --outcome year.2015.arrived "
    "--outcome year.2015.female_share --outcome year.2016.arrived --outcome year.2016.female_share":
        "needs the validate_china_closed sweep",
    "bordersim summarize results/validate_reopen --baseline kept_closed --outcome year.2023.arrived "
    "--outcome year.2024.arrived --outcome year.2023.female_share": "needs the validate_reopen sweep",
    "bordersim summarize results/validate_dmz_mines --baseline 0 --outcome route.dmz.set_out "
    "--outcome route.dmz.killed --outcome route.dmz.arrived": "needs the validate_dmz_mines sweep",
    "bordersim sweep experiments/validate_step_length.yaml --workers 2":
        "200 Korea runs at full size (about 3 minutes on 2 workers); the spec is loaded by test_validation_specs_load",
    "bordersim summarize results/validate_step_length --baseline months": "needs the validate_step_length sweep",
}

_PLACEHOLDER = re.compile(r"\b(SPEC|DIR|PATH|FILE|SCENARIO|ADDRESS|POINT|NAME|OUT)\b|\s\[")


def _blocks(path: Path) -> list[tuple[str, str, int]]:
    """(language, text, first line number) of each code block: fenced, or indented by 4 spaces after a blank
    line outside a list."""
    lines = path.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^\s*```(\w*)", line)
        if fence:
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            blocks.append((fence.group(1), "\n".join(lines[i + 1:j]), i + 2))
            i = j + 1
            continue
        if line.startswith("    ") and line.strip() and (i == 0 or not lines[i - 1].strip()):
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                j += 1
            blocks.append(("", "\n".join(s[4:] for s in lines[i:j]), i + 1))
            i = j
            continue
        i += 1
    return blocks


def _strip_comment(line: str) -> str:
    return re.sub(r"\s+#.*$", "", line).strip()


def _commands(path: Path) -> list[tuple[str, int]]:
    out = []
    for lang, text, start in _blocks(path):
        if lang not in ("", "sh", "bash", "console", "shell"):
            continue
        for k, line in enumerate(text.splitlines()):
            cmd = _strip_comment(line)
            if cmd.startswith("bordersim ") or cmd.startswith("python"):
                out.append((cmd, start + k))
    return out


def _all_commands() -> list[tuple[Path, str, int]]:
    return [(p, c, n) for p in DOC_FILES for c, n in _commands(p)]


def _is_synopsis(cmd: str) -> bool:
    return bool(_PLACEHOLDER.search(cmd))


def _set_items(text: str) -> list[str]:
    return re.findall(r"--set[ =](\S+=\S+)", text)


# ------------------------------------------------------------------------------------------ paths resolve


def _check_overrides(scenario: Path, items: list[str], where: str) -> list[str]:
    problems = []
    for item in items:
        try:
            load_scenario(scenario, overrides=[item])
        except Exception as exc:  # noqa: BLE001 - every failure is a stale doc
            problems.append(f"{where}: --set {item} on {scenario.name}: {exc}")
    return problems


def _sample_value(spec) -> object:
    if isinstance(spec, list):
        return spec[0]
    if isinstance(spec, dict):
        for key in ("value", "start", "low"):
            if key in spec:
                return spec[key]
    return spec


def _spec_overrides(spec: dict) -> list[str]:
    items = []

    def add(paths: str, value: object) -> None:
        text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
        items.extend(f"{p.strip()}={text}" for p in paths.split(","))

    for section in ("parameters", "fixed"):
        values = spec.get(section) or {}
        for paths, value in values.items() if isinstance(values, dict) else []:  # an effects spec's parameters
            add(paths, _sample_value(value))                                   # are a list of posterior columns
    design = spec.get("design") or {}
    packages = list((design.get("policies") or {}).values()) if isinstance(design, dict) else []
    packages += list((spec.get("policies") or {}).values())  # an effects spec's packages (docs/effects.md)
    for package in packages:
        for paths, value in (package or {}).items():
            add(paths, value)
    return items


def test_every_set_path_in_the_docs_resolves():
    problems = []
    for path in DOC_FILES:
        for lang, text, start in _blocks(path):
            where = f"{path.relative_to(ROOT)}:{start}"
            if lang == "yaml":
                spec = parse_yaml(text, path=where)[0]
                if isinstance(spec, dict) and "scenario" in spec and "network" not in spec:
                    base = (ROOT / "experiments" / spec["scenario"]).resolve()
                    problems += _check_overrides(base, _spec_overrides(spec), where)
                continue
            for k, line in enumerate(text.splitlines()):
                items = _set_items(line)
                if not items:
                    continue
                words = shlex.split(_strip_comment(line))
                named = [w for w in words if w.endswith(".yaml") and w.startswith("scenarios/")]
                base = ROOT / (named[0] if named else "scenarios/korea.yaml")
                problems += _check_overrides(base, items, f"{path.relative_to(ROOT)}:{start + k}")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------------ commands run


def test_expensive_list_names_only_commands_the_docs_show():
    shown = {c for _, c, _ in _all_commands()}
    stale = sorted(set(EXPENSIVE) - shown)
    assert not stale, f"EXPENSIVE lists commands no doc shows any more: {stale}"


def _small_copy(tmp: Path) -> None:
    for name in ("scenarios", "experiments"):
        shutil.copytree(ROOT / name, tmp / name)
    for spec in (tmp / "experiments").glob("*.yaml"):  # fewer runs per sweep or sensitivity analysis
        text = re.sub(r"(?m)^replicates: *[0-9]+", "replicates: 1", spec.read_text())
        text = re.sub(r"trajectories: *[0-9]+", "trajectories: 2", text)
        spec.write_text(text)
    for scenario in (tmp / "scenarios").glob("*.yaml"):
        text = scenario.read_text()
        scenario.write_text(re.sub(r"(?m)^(population:\s*\n(?:\s*#.*\n)*\s+size:\s*)[0-9_]+", rf"\g<1>{SMALL}",
                                   text))


def _run_python_block(text: str) -> None:
    code = text.replace("population.size=50000", f"population.size={SMALL}")
    exec(compile(code, "<doc snippet>", "exec"), {"__name__": "__doc_snippet__"})


DRAWS_FIGURES = ("plot", "report", "sensitivity", "calibrate", "effects", "discover")  # matplotlib: seconds per command


def _run_doc_commands(tmp_path, capsys, *, figures: bool) -> list[str]:
    """Run the docs' commands and python blocks in order in tmp_path; return the failures. Without `figures`, the
    commands that draw figures (DRAWS_FIGURES, unless --dry-run) are left out."""
    _small_copy(tmp_path)
    failures, done = [], set()
    for doc in DOC_FILES:
        for lang, text, start in _blocks(doc):
            if lang == "python":
                try:
                    _run_python_block(text)
                except Exception as exc:  # noqa: BLE001
                    failures.append(f"{doc.name}:{start}: python block: {exc!r}")
                continue
            if lang not in ("", "sh", "bash", "console", "shell"):
                continue
            for k, line in enumerate(text.splitlines()):
                cmd = _strip_comment(line)
                if not (cmd.startswith("bordersim ") or cmd.startswith("python")):
                    continue
                if _is_synopsis(cmd) or cmd in EXPENSIVE or cmd in done:
                    continue
                if cmd.startswith("python"):
                    failures.append(f"{doc.name}:{start + k}: `{cmd}` is neither run nor listed in EXPENSIVE")
                    continue
                argv = shlex.split(cmd)[1:]
                if not figures and argv[0] in DRAWS_FIGURES and "--dry-run" not in argv:
                    continue
                done.add(cmd)
                try:
                    rc = main(argv)
                except SystemExit as exc:
                    rc = exc.code
                out = capsys.readouterr()
                if rc != 0:
                    failures.append(f"{doc.name}:{start + k}: `{cmd}` exited {rc}: {out.err.strip()[-400:]}")
    return failures


def test_doc_commands_run(tmp_path, monkeypatch, capsys):
    """Every command of the docs that does not draw figures runs (about 15 s)."""
    monkeypatch.chdir(tmp_path)
    failures = _run_doc_commands(tmp_path, capsys, figures=False)
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_doc_commands_run_with_figures(tmp_path, monkeypatch, capsys):
    """All of them, the plot, report and sensitivity commands too (about a minute: matplotlib)."""
    monkeypatch.chdir(tmp_path)
    failures = _run_doc_commands(tmp_path, capsys, figures=True)
    assert not failures, "\n".join(failures)


# ------------------------------------------------------------------------------------------ help text


def _subcommands() -> list[str]:
    from sim.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)


def test_help_text_shows_no_doubled_percent_signs(capsys):
    """argparse %-formats help= strings but prints description= as written: '%%' belongs only in help=."""
    for argv in [["--help"]] + [[name, "--help"] for name in _subcommands()]:
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        assert "%%" not in out, f"bordersim {' '.join(argv)} prints '%%'"


def test_run_quiet_help_says_what_it_suppresses(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "no report" not in out
    assert "totals" in out


# ------------------------------------------------------------------------------------------ citations


CITING_FILES = [*DOC_FILES, ROOT / "sim" / "data" / "SOURCES.md", *sorted((ROOT / "scenarios").glob("*.yaml")),
                *sorted((ROOT / "experiments").glob("*.yaml"))]  # two calibration specs cited FACTS.md (a probe)


def test_no_file_cites_a_path_outside_the_repository():
    """Sources are cited by their original publisher or by a file in the repository, never by a folder that only
    existed beside the checkout (`../shared/data/FACTS.md`)."""
    problems = []
    for path in CITING_FILES:
        for k, line in enumerate(path.read_text().splitlines(), 1):
            for ref in re.findall(r"(?:\.\./)+[\w./-]*\w", line):
                target = (path.parent / ref).resolve()
                if not target.is_relative_to(ROOT) or not target.exists():
                    problems.append(f"{path.relative_to(ROOT)}:{k}: {ref}")
            if "FACTS.md" in line:
                problems.append(f"{path.relative_to(ROOT)}:{k}: FACTS.md is not in the repository")
    assert not problems, "\n".join(problems)


def test_validation_specs_load():
    """The mechanism experiments of docs/validation.md are valid specs of the Korea scenario (their sweeps are not
    run here: see EXPENSIVE)."""
    from sim.experiments.spec import load_spec

    specs = sorted((ROOT / "experiments").glob("validate_*.yaml"))
    assert len(specs) == 6
    for spec in specs:
        assert load_spec(spec).base.name == "korea"


@pytest.mark.slow
def test_korea_comment_quotes_the_number_a_run_sets_out(tmp_path, capsys):
    """The Runtime comment of korea.yaml quotes the attempts a run with the scenario's own seed sets out: run it
    (about 7 s) and compare."""
    text = (ROOT / "scenarios" / "korea.yaml").read_text()
    quoted = re.search(r"sets out ([0-9,]+) attempts with the scenario's seed\s+#?\s*(\d+)", text)
    assert quoted, "the Runtime comment of korea.yaml no longer quotes the attempts a run sets out"
    assert int(quoted.group(2)) == load_scenario(ROOT / "scenarios" / "korea.yaml").seed
    assert main(["run", str(ROOT / "scenarios" / "korea.yaml"), "--out", str(tmp_path / "k"), "--quiet"]) == 0
    totals = json.loads((tmp_path / "k" / "summary.json").read_text())["totals"]
    assert totals["set_out"] == int(quoted.group(1).replace(",", ""))


# ------------------------------------------------------------------------------------------ README contents


def test_readme_layout_names_every_module_and_doc():
    text = (ROOT / "README.md").read_text()
    layout = text[text.index("## Layout"):]
    missing = [f"`{m.stem}` ({m.relative_to(ROOT)})" for m in sorted((ROOT / "sim").rglob("*.py"))
               if not m.stem.startswith("_") and f"`{m.stem}`" not in layout and f"`{m.stem}/`" not in layout]
    missing += [f"`{d.relative_to(ROOT)}/`" for d in sorted((ROOT / "sim").rglob("__init__.py"))
                if d.parent != ROOT / "sim" and f"`{d.parent.name}/`" not in layout
                and f"`{d.parent.relative_to(ROOT)}/`" not in layout]
    missing += [d.name for d in sorted((ROOT / "docs").glob("*.md")) if f"docs/{d.name}" not in layout]
    missing += [f"experiments/{e.name}" for e in sorted((ROOT / "experiments").iterdir())
                if e.suffix in (".py", ".yaml") and e.name not in layout]
    assert not missing, f"README's Layout does not name: {missing}"
    assert "`sim/experiments/`" in layout and "`experiments/` (top level" in layout


def test_readme_says_where_output_goes_and_the_import_name():
    text = " ".join((ROOT / "README.md").read_text().split())
    assert "results/<scenario name>-<time stamp>" in text
    assert "imported as `sim`" in text


def test_readme_names_every_key_of_summary_json(tmp_path, capsys):
    out = tmp_path / "toy"
    assert main(["run", str(ROOT / "scenarios" / "toy.yaml"), "--out", str(out), "--quiet",
                 "--set", f"population.size={SMALL}"]) == 0
    import json

    keys = json.loads((out / "summary.json").read_text())
    text = (ROOT / "README.md").read_text()
    missing = [k for k in keys if f"`{k}`" not in text and f", {k}" not in text and f"{k}," not in text]
    assert not missing, f"README does not describe summary.json keys {missing}"
