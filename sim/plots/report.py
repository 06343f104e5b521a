"""One self-contained HTML report of a run, sweep, sensitivity, calibration or discovery directory: provenance,
summary tables and every figure, embedded as base64 PNG, with inline CSS and no external resource, so that it opens
offline and can be sent as one attachment.

Run report: provenance (scenario, seed, hash, version, horizon), the scenario's description and sources, totals by
route and by group, yearly arrivals (against the observed series when the scenario names one), the enabled
policies. Sweep report: the spec (design, parameters, replicates, seed, fingerprint), run counts and failures, the
mean and 95% interval of the totals per point (`sim.experiments.summarize`; the replicates themselves where there
are fewer than 3), paired differences against the baseline package for a policies design, and the figures.
Sensitivity report: the ranking, the indices and the figures. Calibration report: the calibrated values, the
posterior table, the check at full size and the figures. Discovery report: the summary, the chosen box and the
peeling trajectory.

Reproducible: the same directory gives the same bytes, wherever it lies and whenever the report is written. The
directory is named by its own name (not its absolute path), and no time is written unless SOURCE_DATE_EPOCH is
set (then that time, in UTC). The report carries `<meta name="generator" content="bordersim">`; `write_report`
overwrites only a file that carries it (or a report of an earlier version), never another file.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import os
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.errors import UsageError, WriteFailed
from sim.api_checks import optional_path_argument, path_argument
from sim.experiments.summarize import summarize
from sim.outcomes import TOTAL_KEYS
from sim.observed import compare_yearly, load_observed, whole_years
from sim.numbers import readable
from sim.outputs import REPORT_GENERATOR, atomic_write_text, clean_stale_temporaries, is_bordersim_report
from sim.plots import style
from sim.plots.api import Figures, build_figures
from sim.directories import (CalibrationData, DiscoveryData, EffectsData, RunData, SensitivityData, SweepData,
                             base_scenario_shown, kind_of)
from sim.plots.policy_figures import baseline_package, paired_against_baseline
from sim.plots.sweep_figures import MIN_REPLICATES
from sim.provenance import package_version


CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:1180px;margin:2em auto;
padding:0 1em;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
h3{font-size:1.05em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.86em}
th,td{border:1px solid #d6d6d6;padding:.22em .55em;text-align:right;vertical-align:top}
th{background:#f3f3f3}td.l,th.l{text-align:left}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#444;margin-top:.3em}.muted{color:#666;font-size:.88em}
code{background:#f5f5f5;padding:0 .2em}
"""


def _file_name(path) -> str | None:
    """The last part of a path as recorded (sweep.json's `spec_path` may be absolute): a report names no place on
    the machine that wrote it."""
    return path.replace("\\", "/").rsplit("/", 1)[-1] if isinstance(path, str) else path


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _png(fig: Figure) -> str:
    """The figure as a base64 PNG data URI (no metadata chunk naming any web address)."""
    buf = io.BytesIO()
    with style.mpl.rc_context(style.RC):
        fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _table(df: pd.DataFrame, left: tuple[str, ...] = (), max_rows: int = 300) -> str:
    """An HTML table; numbers with thousands separators, columns named in `left` left-aligned."""
    rows = df.head(max_rows)
    head = "".join(f"<th class='{'l' if c in left else ''}'>{_e(c)}</th>" for c in rows.columns)
    body = []
    for rec in rows.itertuples(index=False):
        cells = []
        for c, v in zip(rows.columns, rec):
            cls = " class='l'" if c in left else ""
            cells.append(f"<td{cls}>{_e(_fmt(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p class='muted'>{len(df) - max_rows} more rows not shown.</p>" if len(df) > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return readable(v)
    return str(v)


def _as_written(v) -> str:
    """An identifier such as a seed, as the file gives it: no thousands separator (2026, not 2,026)."""
    return "" if v is None else str(v)


def _kv(pairs: list[tuple[str, object]]) -> str:
    return "<table>" + "".join(f"<tr><th class='l'>{_e(k)}</th><td class='l'>{_e(_fmt(v))}</td></tr>"
                               for k, v in pairs) + "</table>"


def _figures_html(figs: Figures) -> str:
    parts = ["<h2>Figures</h2>"]
    for stem, fig in figs.figures.items():
        title = fig.get_suptitle() or next((ax.get_title() for ax in fig.axes if ax.get_title()), stem)
        parts.append(f"<figure id='{_e(stem)}'><img alt='{_e(title)}' src='{_png(fig)}'>"
                     f"<figcaption>{_e(stem)}: {_e(title)}</figcaption></figure>")
    if figs.skipped:
        parts.append("<p class='muted'>Not drawn: " + "; ".join(f"{_e(k)} ({_e(v)})" for k, v in
                                                                figs.skipped.items()) + "</p>")
    return "".join(parts)


# --------------------------------------------------------------------------------------------------- run


def _run_sections(run: RunData) -> str:
    prov = run.summary["provenance"]
    sc = run.scenario
    parts = ["<h2>Provenance</h2>", _kv([
        ("run directory", _dir_name(run.path)), ("scenario", prov["scenario"]), ("seed", _as_written(prov["seed"])),
        ("scenario sha256", prov["scenario_sha256"]), ("bordersim version of the run", prov["version"]),
        ("bordersim code of the run (code_sha256)", prov.get("code_sha256") or "not recorded (an earlier version)"),
        ("steps", f"{prov['steps']} ({(sc.get('time') or {}).get('step', 'month')})"),
        ("first step", prov["start"]), ("last step", prov["end"]),
        ("population size", (sc.get("population") or {}).get("size")),
        ("observed series", sc.get("observed") or "none")])]
    if sc.get("description"):
        parts.append(f"<p>{_e(sc['description'])}</p>")
    if sc.get("sources"):
        parts.append("<h3>Sources named by the scenario</h3><ul>"
                     + "".join(f"<li>{_e(s)}</li>" for s in sc["sources"]) + "</ul>")
    stock = "initial_stock" in run.summary["totals"]
    columns = [*TOTAL_KEYS, "initial_stock"] if stock else list(TOTAL_KEYS)
    started = "set_out + initial_stock" if stock else "set_out"
    parts.append("<h2>Totals</h2><p class='muted'>Attempts over the whole run (a person who sets out again counts "
                 "once per attempt); in_transit is the stock on the way at the end; arrived / started is arrived / "
                 f"({started}). {started} = arrived + caught + killed + repatriated + returned + in_transit.</p>")
    rows = [{"": "all", **run.summary["totals"]}]
    rows += [{"": f"route {k}", **v} for k, v in run.summary["by_route"].items()]
    rows += [{"": f"group {k}", **v} for k, v in run.summary["by_group"].items()]
    table = pd.DataFrame(rows, columns=["", *columns])
    began = table["set_out"] + (table["initial_stock"] if stock else 0)
    table["arrived / started"] = [f"{a / s:.1%}" if s else "" for a, s in zip(table["arrived"], began)]
    parts.append(_table(table, left=("",)))
    parts.append("<h2>Arrivals per year</h2>")
    yearly = pd.DataFrame({"year": list(run.summary["arrivals_by_year"]),
                           "arrived": list(run.summary["arrivals_by_year"].values()),
                           "female share": [None if v is None else f"{v:.1%}"
                                            for v in run.summary["female_share_by_year"].values()]})
    parts.append(_table(yearly))
    first, last = whole_years(str(sc["time"]["start"]), str(sc["time"]["end"]))
    partial = [str(y) for y in run.summary["arrivals_by_year"] if not first <= int(y) <= last]
    if partial:
        parts.append(f"<p class='muted'>Partial years (the horizon covers them only in part): "
                     f"{_e(', '.join(partial))}.</p>")
    if sc.get("observed"):
        comp = compare_yearly(run.summary["arrivals_by_year"], load_observed(sc["observed"]),
                              whole_years(sc["time"]["start"], sc["time"]["end"]))
        parts.append(f"<h3>Against the observed series <code>{_e(sc['observed'])}</code></h3>"
                     "<p class='muted'>Like with like: a multi-year observed period against the sum of its "
                     "simulated years, each simulated from January to December (a year the run covers in part "
                     "is not compared); the cumulative row is never compared. log_error = ln(1+simulated) − "
                     "ln(1+observed).</p>")
        parts.append(_table(comp[["period", "observed", "simulated", "difference", "log_error"]],
                            left=("period",)))
    policies = run.scenario.get("policies") or []
    parts.append("<h2>Policies</h2>")
    if policies:
        rows = []
        for p in policies:
            sel = {k: v for k, v in (p.get("select") or {}).items() if v}
            rows.append({"name": p["name"], "enabled": p.get("enabled", True), "start": p["start"],
                         "end (exclusive)": p.get("end") or "—", "selects": json.dumps(sel),
                         "sets": json.dumps(p.get("set") or {}), "scales": json.dumps(p.get("scale") or {})})
        parts.append(_table(pd.DataFrame(rows), left=("name", "selects", "sets", "scales")))
    else:
        parts.append("<p>None.</p>")
    return "".join(parts)


# ------------------------------------------------------------------------------------------------- sweep


def _ci_text(mean: float, lo: float, hi: float, n: int | None = None, values: list[float] | None = None) -> str:
    """'mean [low, high]' with the 95% interval from MIN_REPLICATES replicates on; with fewer, the mean and the
    replicates themselves: 'mean (replicates a, b)' (a t-interval of 2 values says little). Numbers as in every
    table of the report (`_fmt`: 4 significant digits, whole numbers from 1,000 on), so that a difference and the
    means it is the difference of agree (234.5 was shown as 234 beside a difference of 3.5)."""
    if pd.isna(mean):
        return ""
    m = _fmt(float(mean))
    if n is not None and n < MIN_REPLICATES:
        if n < 2 or not values:
            return f"{m} (1 replicate)" if n == 1 else m
        return f"{m} (replicates {', '.join(_fmt(float(v)) for v in values)})"
    return m if pd.isna(lo) else f"{m} [{_fmt(float(lo))}, {_fmt(float(hi))}]"


def _sweep_sections(sw: SweepData, baseline: str | None) -> str:
    spec = sw.manifest.get("spec") or {}
    runs = sw.runs
    n_ok = len(sw.ok)
    wall = float(runs["wall_time"].sum()) if "wall_time" in runs.columns and len(runs) else 0.0
    parts = ["<h2>Provenance</h2>", _kv([
        ("sweep directory", _dir_name(sw.path)), ("name", spec.get("name")),
        ("description", spec.get("description") or ""), ("spec file", _file_name(sw.manifest.get("spec_path"))),
        ("base scenario", f"{sw.manifest.get('scenario')} ({spec.get('scenario')})"),
        ("design", sw.design), ("replicates", spec.get("replicates")), ("seed", _as_written(spec.get("seed"))),
        ("fingerprint", sw.manifest.get("fingerprint")),
        ("runs", f"{len(runs)} recorded, {n_ok} successful, {len(runs) - n_ok} failed"),
        ("total run time", f"{wall:,.1f} s (sum over runs)")])]
    params = spec.get("parameters") or {}
    if params:
        parts.append("<h3>Parameters</h3>" + _table(pd.DataFrame(
            [{"parameter": k, "values": json.dumps(v)} for k, v in params.items()]), left=("parameter", "values")))
    packages = (spec.get("design") or {}).get("policies") or {}
    if packages:
        parts.append("<h3>Policy packages</h3>" + _table(pd.DataFrame(
            [{"package": k, "settings": json.dumps(v)} for k, v in packages.items()]), left=("package", "settings")))
    failed = runs[runs["status"] != "ok"] if len(runs) and "status" in runs.columns else runs.head(0)
    if len(failed):
        table = _table(failed[["run_id", "error"]], left=("run_id", "error"), max_rows=30)
        parts.append("<h3>Failed runs</h3>" + table)
    if n_ok:
        outcomes = [c for c in TOTAL_KEYS if c in runs.columns]
        stock = "initial_stock" in runs.columns  # persons on the way at the start: counted in no set_out
        shown = [*outcomes, "initial_stock"] if stock else outcomes
        table = summarize(runs, sw.parameters, shown)
        keys = [c for c in ("point", "policy", *sw.parameters) if c in table.columns]
        wide = table.pivot_table(index=keys, columns="outcome", values="n", aggfunc="first").reset_index()[keys]
        n = table.groupby("point")["n"].max()
        wide["n"] = wide["point"].map(n)
        ok = sw.ok
        for o in shown:
            t = table[table["outcome"] == o].set_index("point")
            values = ok.groupby("point")[o].apply(lambda v: [float(x) for x in v.dropna()])
            wide[o] = [_ci_text(t.loc[p, "mean"], t.loc[p, "ci_low"], t.loc[p, "ci_high"], int(t.loc[p, "n"]),
                                values.get(p))
                       for p in wide["point"]]
        wide = wide.rename(columns={p: style.param_short(p) for p in sw.parameters})
        parts.append("<h2>Totals per point</h2><p class='muted'>Mean over successful replicates [95% "
                     "t-interval], persons over the run (still in transit: at the last step; the same numbers as "
                     "<code>bordersim summarize</code>); "
                     f"with fewer than {MIN_REPLICATES} replicates the replicates themselves instead of an "
                     "interval."
                     + (" initial_stock: persons already on the way at the start, who set out before it; "
                        "set_out + initial_stock = arrived + caught + killed + repatriated + returned + in_transit."
                        if stock else "")
                     + (" Parameters: " + "; ".join(f"{_e(style.param_short(p))} = <code>{_e(p)}</code>"
                                                     for p in sw.parameters) + "." if sw.parameters else "")
                     + "</p>")
        parts.append(_table(wide, left=("policy",)))
        if sw.design == "policies" and "policy" in runs.columns:
            base = baseline_package(sw, baseline)
            d = paired_against_baseline(sw, outcomes, base)
            if len(d):
                d["difference [95% CI]"] = [_ci_text(m, lo, hi, n, v) for m, lo, hi, n, v in
                                            zip(d["diff"], d["ci_low"], d["ci_high"], d["n"], d["values"])]
                d["baseline mean"] = d["baseline_mean"]
                cols = (["combo"] if d["combo"].str.len().gt(0).any() else []) + [
                    "policy", "outcome", "n", "baseline mean", "difference [95% CI]"]
                parts.append(f"<h3>Paired differences against the baseline package '{_e(base)}'</h3>"
                             "<p class='muted'>Mean over replicates k of x(package, k) − x(baseline, k) "
                             f"[95% t-interval; the differences themselves with fewer than {MIN_REPLICATES} "
                             "replicates]; replicate k of every package used the same random stream.</p>"
                             + _table(d[cols].rename(columns={"combo": "other parameters"}),
                                      left=("other parameters", "policy", "outcome")))
    return "".join(parts)


# ------------------------------------------------------------------------------------ sensitivity, calibration


def _sensitivity_sections(sa: SensitivityData) -> str:
    exp = sa.experiment
    parts = ["<h2>Provenance</h2>", _kv([
        ("sensitivity directory", _dir_name(sa.path)), ("design", exp.get("name") or ""),
        ("method", ", ".join(sa.methods)), ("base scenario", base_scenario_shown(sa.path, exp)),
        ("points", len(next(iter((exp.get("parameters") or {"": []}).values())))),
        ("replicates", exp.get("replicates")), ("seed", _as_written(exp.get("seed")))])]
    if sa.ranking:
        parts.append(f"<h2>Ranking</h2><pre>{_e(sa.ranking)}</pre>")
    cols = [c for c in ("method", "outcome", "rank", "label", "parameter", "mu_star", "mu_star_conf",
                        "mu_star_seed_conf", "sigma", "mu", "ST", "ST_conf", "ST_seed_conf", "S1", "S1_conf",
                        "S1_seed_conf", "noise_share") if c in sa.indices.columns]
    table = sa.indices[cols].dropna(axis=1, how="all").sort_values(["method", "outcome", "rank"], kind="stable")
    parts.append("<h2>Indices</h2><p class='muted'>From indices.csv (docs/sensitivity.md): *_conf is the "
                 "half-width of SALib's 95% design bootstrap, *_seed_conf that of the replicate bootstrap.</p>"
                 + _table(table, left=("method", "outcome", "label", "parameter")))
    return "".join(parts)


def _input_path(label: str, path: object) -> tuple[str, object]:
    """A row naming an analysis's input: its path as recorded, said to be from the directory when it is relative
    (bordersim writes them so; a directory made before 2026-12-07 holds absolute paths, or paths as typed)."""
    relative = isinstance(path, str) and not path.startswith("/")
    return (f"{label} (path from the directory)" if relative else label), path


def _calibration_sections(cal: CalibrationData) -> str:
    s = cal.summary
    parts = ["<h2>Provenance</h2>", _kv([
        ("calibration directory", _dir_name(cal.path)), ("name", s.get("name")), _input_path("spec", s.get("spec")),
        ("spec sha256", s.get("spec_sha256")), ("rounds", s.get("rounds")),
        ("points", s.get("points")), ("runs", f"{s.get('runs')} ({s.get('failed_runs')} failed)"),
        ("accepted points", s.get("accepted")), ("epsilon (distance)", s.get("epsilon"))])]
    values = s.get("values") or {}
    if values:
        parts.append("<h2>Calibrated values</h2>" + _table(pd.DataFrame(
            [{"parameter": k, "value": v} for k, v in values.items()]), left=("parameter",)))
    if cal.table is not None and len(cal.table):
        parts.append("<h2>Posterior</h2><p class='muted'>From posterior_table.csv: prior and posterior 90% "
                     "intervals; width_ratio is the posterior width over the prior width.</p>"
                     + _table(cal.table, left=("parameter", "prior", "verdict")))
    check = s.get("check") or {}
    if check:
        parts.append("<h2>Check at full size</h2>" + _kv([(k, json.dumps(v) if isinstance(v, (list, dict)) else v)
                                                          for k, v in check.items()]))
    notes = s.get("notes") or []
    if notes:
        parts.append("<h3>Notes</h3><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    return "".join(parts)


def _effects_sections(ef: EffectsData) -> str:
    s = ef.summary
    packages = s.get("packages") or {}
    parts = ["<h2>Provenance</h2>", _kv([
        ("effects directory", _dir_name(ef.path)), ("name", s.get("name")), _input_path("spec", s.get("spec")),
        _input_path("base scenario", s.get("scenario")), ("horizon", s.get("horizon")),
        _input_path("posterior", s.get("posterior")) if s.get("posterior") else
        ("posterior", "none (no parameter uncertainty)"),
        ("draws x replicates", f"{s.get('draws')} x {s.get('replicates')}"), ("seed", _as_written(s.get("seed"))),
        ("runs", s.get("runs")), ("baseline", s.get("baseline"))])]
    parts.append("<h2>Packages</h2>" + _table(pd.DataFrame(
        [{"package": k, "settings": ", ".join(f"{p} = {v}" for p, v in (val or {}).items()) or "(no change)"}
         for k, val in packages.items()]), left=("package", "settings")))
    cols = [c for c in ("outcome", "package", "baseline_mean", "effect_median", "total_q05", "total_q25",
                        "total_q75", "total_q95", "param_q05", "param_q95", "seed_ci_low", "seed_ci_high",
                        "param_share", "relative_median", "sign", "p_sign", "p_sign_draws")
            if c in ef.effects.columns]
    gaps = ef.effects["runs_without_value"] if "runs_without_value" in ef.effects.columns else None
    if gaps is not None and (gaps > 0).any():
        cols.insert(2, "runs_without_value")
    table = ef.effects[cols].sort_values(["outcome"], kind="stable")
    empty = ("" if "runs_without_value" not in cols else
             " runs_without_value: runs that have no value for the outcome (a female share of years in which nobody "
             "arrived), in the package or the baseline; a row with any has no statistics, as they would be of "
             "the runs that happen to have a value.")
    parts.append("<h2>Effects</h2><p class='muted'>From effects.csv (docs/effects.md): the effect of each package "
                 "against the baseline, paired by draw and replicate. total_q*: quantiles over every draw and "
                 "replicate; param_q*: over the per-draw mean effects; seed_ci: 95% interval of the mean effect "
                 "from seed noise alone; param_share: the parameter part of the effect's variance; p_sign: share "
                 f"of runs whose effect has the sign of the median.{empty}</p>"
                 + _table(table, left=("outcome", "package", "sign")))
    return "".join(parts)


def _discovery_sections(d: DiscoveryData) -> str:
    exp = d.experiment
    parts = ["<h2>Provenance</h2>", _kv([
        ("discovery directory", _dir_name(d.path)), ("design", exp.get("name") or ""),
        ("base scenario", base_scenario_shown(d.path, exp)), ("points", (exp.get("design") or {}).get("samples")),
        ("replicates", exp.get("replicates")), ("seed", _as_written(exp.get("seed")))])]
    if d.summary:
        parts.append(f"<h2>Summary</h2><pre>{_e(d.summary)}</pre>")
    parts.append("<h2>Box</h2><p class='muted'>From box.csv (docs/discovery.md): the limits of each restricted "
                 "input and the quasi-p-value of each restricted side.</p>"
                 + _table(d.box.dropna(axis=1, how="all"), left=("parameter", "kind")))
    return "".join(parts)


# ------------------------------------------------------------------------------------------------ writing


def _dir_name(path: Path) -> str:
    """The directory's own name: what the report shows instead of an absolute path (a report is the same
    wherever the directory lies)."""
    return Path(path).resolve().name or str(path)


def _written() -> str:
    """'Written YYYY-MM-DD HH:MM UTC ' from SOURCE_DATE_EPOCH when it is set to a number of seconds, else '':
    the report holds no clock time of its own."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not (epoch.isascii() and epoch.isdigit()):
        return ""
    try:
        when = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    except (OverflowError, OSError, ValueError):
        return ""
    return f"Written {when:%Y-%m-%d %H:%M} UTC "


TITLES = {"run": "run of scenario '{}'", "sweep": "sweep '{}'", "sensitivity": "sensitivity analysis '{}'",
          "calibration": "calibration '{}'", "effects": "policy effects '{}'",
          "discovery": "scenario discovery '{}'"}


def report_html(path: str | Path, *, baseline: str | None = None) -> str:
    """The report of a run, sweep, sensitivity, calibration or discovery directory as one HTML string (see module
    docstring); the same directory gives the same string."""
    figs = build_figures(path, baseline=baseline)
    data = figs.data
    title = "bordersim report: " + TITLES[figs.kind].format(data.name)
    if isinstance(data, RunData):  # the data's type follows figs.kind (`sim.directories.load`)
        body = _run_sections(data)
    elif isinstance(data, SweepData):
        body = _sweep_sections(data, baseline)
    elif isinstance(data, SensitivityData):
        body = _sensitivity_sections(data)
    elif isinstance(data, EffectsData):
        body = _effects_sections(data)
    elif isinstance(data, DiscoveryData):
        body = _discovery_sections(data)
    else:
        body = _calibration_sections(data)
    written = _written()
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"{REPORT_GENERATOR}<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body><h1>{_e(title)}</h1>"
            f"<p class='muted'>{written + 'by' if written else 'Written by'} bordersim {_e(package_version())} "
            f"from the directory <code>{_e(_dir_name(Path(path)))}</code>. Self-contained: figures are "
            f"embedded.</p>{body}{_figures_html(figs)}</body></html>\n")


def check_report_target(target: Path) -> None:
    """Raise a UsageError (touching nothing) unless the report may be written to `target`: a new file, or a
    report bordersim wrote (`is_bordersim_report`). A directory, a link, a device or another file is refused."""
    if not target.exists() and not target.is_symlink():
        return
    if target.is_dir() and not target.is_symlink():
        raise UsageError(f"{target}: is a directory; give a file name for the report (e.g. {target / 'report.html'})")
    if target.is_symlink():
        raise UsageError(f"{target}: is a symbolic link; bordersim replaces no link (the rename would replace the "
                         "link, which is yours): give the path it points to, or choose another --out")
    if not is_bordersim_report(target):
        raise UsageError(f"{target}: exists and is not a report bordersim wrote; bordersim never overwrites "
                         "such a file: choose another --out")


def write_report(path: str | Path, out: str | Path | None = None, *, baseline: str | None = None) -> Path:
    """Write the report to OUT (default PATH/report.html) through a temporary file renamed into place, and
    return its path. An existing OUT is replaced only if it is a report bordersim wrote (`check_report_target`,
    checked before anything is read or drawn); a failure to write is a UsageError naming the file, and leaves the
    old file as it was."""
    path = path_argument(path, "path")
    out = optional_path_argument(out, "out")
    kind_of(path)  # a bad PATH is reported first
    target = style.real_target(Path(out) if out is not None else Path(path) / "report.html")
    check_report_target(target)
    text = report_html(path, baseline=baseline)
    check_report_target(target)  # again: the file may have appeared while the figures were drawn
    clean_stale_temporaries(target.parent)  # those of a report killed while it was written (docs/outputs.md)
    try:
        atomic_write_text(target, text)
    except WriteFailed as exc:  # `atomic_write_text` names the file and the system's reason; here, what to do
        raise WriteFailed(f"{exc}: {exc.remedy()}, or choose another --out", exc.errno) from None
    return target
