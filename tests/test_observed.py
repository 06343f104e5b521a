"""The packaged observed series and the like-with-like comparison rule."""

import math
import re

import pandas as pd
import pytest
from conftest import ROOT

from sim.observed import compare_yearly, load_observed, whole_years


@pytest.fixture(scope="module")
def observed() -> pd.DataFrame:
    return load_observed()


def test_columns_and_years(observed):
    assert list(observed.columns[:6]) == ["period_start", "period_end", "arrivals", "male", "female",
                                          "female_share"]
    single = observed[observed.period_start == observed.period_end]
    assert single.period_start.tolist() == list(range(2002, 2025))
    assert (observed.period_start <= observed.period_end).all()


def test_cumulative_check_from_the_source(observed):
    # The published check: 34,314 arrivals by the end of 2024, 9,568 male and 24,746 female.
    assert observed.arrivals.sum() == 34_314
    assert observed.male.sum() == 9_568
    assert observed.female.sum() == 24_746
    assert (observed.male + observed.female == observed.arrivals).all()


def test_known_rows(observed):
    by_start = observed.set_index("period_start")
    assert by_start.loc[2009, "arrivals"] == 2914
    assert by_start.loc[2021, "arrivals"] == 63
    assert by_start.loc[2024, "female_share"] == pytest.approx(210 / 236)
    assert by_start.loc[1999, "period_end"] == 2001 and by_start.loc[1999, "arrivals"] == 1043


def test_only_the_first_row_is_cumulative(observed):
    assert observed.cumulative.tolist() == [True] + [False] * (len(observed) - 1)
    assert observed.loc[0, "period_end"] == 1998 and observed.loc[0, "arrivals"] == 947


def test_unknown_series_is_an_error():
    """Bad input (a UsageError, exit 2 from the command line), naming the series there are."""
    from sim.errors import UsageError

    with pytest.raises(UsageError, match=r"name: give a packaged observed series \('mou_arrivals'\), not "
                                         r"'no_such_series' \(str\)"):
        load_observed("no_such_series")


def test_single_years_compare_with_that_year(observed):
    sim = {str(y): 10 * (y - 1990) for y in range(2002, 2025)}
    table = compare_yearly(sim, observed).set_index("period")
    assert table.index.tolist() == [str(y) for y in range(2002, 2025)]
    assert table.loc["2009", "simulated"] == 190
    assert table.loc["2009", "observed"] == 2914
    assert table.loc["2009", "difference"] == 190 - 2914
    assert table.loc["2009", "log_error"] == pytest.approx(math.log(191) - math.log(2915))
    assert (table.years == 1).all()


def test_multi_year_row_compares_with_the_sum_when_wholly_simulated(observed):
    sim = {y: 100 + y - 1998 for y in range(1998, 2025)}  # int keys are accepted too
    table = compare_yearly(sim, observed).set_index("period")
    assert table.loc["1999-2001", "simulated"] == 101 + 102 + 103
    assert table.loc["1999-2001", "observed"] == 1043
    assert table.loc["1999-2001", "years"] == 3
    # 1998 was simulated, but the cumulative row (everyone up to 1998) is not a single year.
    assert "1998" not in table.index and "1950-1998" not in table.index


@pytest.mark.parametrize("first_year", [2000, 2001])
def test_multi_year_row_left_out_when_partly_simulated(observed, first_year):
    sim = {str(y): 500 for y in range(first_year, 2025)}
    table = compare_yearly(sim, observed)
    assert "1999-2001" not in table.period.tolist()
    assert table.period.tolist()[0] == "2002"


@pytest.mark.usefixtures("blank_drawing")  # files and markup, not what the figures show
def test_a_year_the_run_covers_in_part_is_not_compared_with_a_whole_observed_year(observed, tmp_path, capsys):
    """A run from 2000-07 to 2002-03 compared its 2002 (January to March: 9 arrivals) with the whole observed 2002
    (1,142), in a table headed "like with like" (a probe)."""
    from sim.cli import main

    assert whole_years("2000-07", "2002-03") == (2001, 2001)
    first, last = whole_years("2002-02", "2002-11")
    assert whole_years("2000-01", "2002-12") == (2000, 2002) and first > last  # no year whole
    sim = {"2000": 400, "2001": 900, "2002": 9}
    assert compare_yearly(sim, observed).period.tolist() == ["2002"]  # without the horizon: every key
    assert compare_yearly(sim, observed, whole_years("2000-07", "2002-03")).empty
    # the run's report and yearly figure take the horizon from the run's scenario
    out = tmp_path / "run"
    assert main(["run", str(ROOT / "scenarios" / "toy.yaml"), "--set", "time.start=2000-07", "--set",
                 "time.end=2003-06", "--set", "population.size=300", "--set", "observed=mou_arrivals", "--out",
                 str(out), "--quiet"]) == 0
    assert main(["report", str(out)]) == 0
    compared = (out / "report.html").read_text().split("Against the observed series")[1]
    assert "<td class='l'>2002</td>" in compared and "<td class='l'>2003</td>" not in compared  # 2003: to June
    capsys.readouterr()


def test_cumulative_row_never_compared_even_if_every_year_simulated(observed):
    sim = {str(y): 1 for y in range(1950, 2025)}
    table = compare_yearly(sim, observed)
    assert not (table.period_end == 1998).any()
    assert table.period.tolist()[0] == "1999-2001"
    assert len(table) == len(observed) - 1


def test_no_overlap_nothing_compared(observed):
    table = compare_yearly({"1990": 5}, observed)
    assert table.empty and "log_error" in table.columns


# --------------------------------------------------------------------------------------------- targets.csv


def test_targets_hold_the_published_figures_as_ranges():
    from sim.observed import load_targets

    targets = load_targets()
    rows = {(r.target, str(r.period_start), str(r.period_end)): r for r in targets.itertuples(index=False)}
    direct = rows[("direct_crossings", "2010-01", "2015-07")]
    assert direct.low == direct.high == 65 and direct.unit == "persons"
    assert rows[("arrivals", "2024-01", "2024-06")].low == 105
    assert rows[("female_arrivals", "2024-01", "2024-06")].low == 95
    since_2020 = rows[("repatriations", "2020-01", "2024-12")]
    assert since_2020.low == 670 and math.isnan(since_2020.high)  # a lower bound only
    abroad = rows[("years_abroad", "2002-01", "2009-12")]
    assert (abroad.low, abroad.high, abroad.unit) == (3, 4, "years")
    assert rows[("thailand_share", "2016-01", "2016-12")].low == pytest.approx(0.72)
    soldiers = targets[targets.target == "dmz_soldiers"]
    assert soldiers.low.sum() == 2 + 1 + 1 + 4 + 1 + 1
    assert (targets.period_start <= targets.period_end).all()
    assert ((targets.high >= targets.low) | targets.high.isna()).all()


def test_every_target_source_letter_is_explained_in_sources_md():
    from importlib import resources

    from sim.observed import load_targets

    sources = resources.files("sim").joinpath("data", "SOURCES.md").read_text(encoding="utf-8")
    section = sources[sources.index("## `targets.csv`"):sources.index("## Facts used by")]
    for code in sorted(set(load_targets().source)):
        assert f"| {code} |" in section, code


@pytest.mark.parametrize("row, message", [
    ("x,2020-05,2020-01,1,1,persons,P,", "period_end before period_start"),
    ("x,2020-01,2020-05,1,1,people,P,", "unit 'people'; allowed: persons, share, years, usd"),
    ("x,2020-01,2020-05,5,1,persons,P,", "high 1 below low 5"),
])
def test_a_damaged_targets_file_names_the_row_and_the_problem(monkeypatch, row, message):
    import sim.observed as observed_module

    header = "target,period_start,period_end,low,high,unit,source,note\n"
    monkeypatch.setattr(observed_module, "_read_packaged", lambda name: header + row + "\n")
    with pytest.raises(ValueError, match="targets.csv, row 1") as err:
        observed_module.load_targets()
    assert message in str(err.value)


def test_an_observed_csv_without_a_count_column_names_the_columns_it_needs():
    """It was pandas' "['period_start', ...] not in index"."""
    import io

    from sim.observed import read_observed_csv

    with pytest.raises(ValueError, match="missing column.s. male, female; an observed series has the columns"):
        read_observed_csv(io.StringIO("period_start,period_end,arrivals,source,note\n2000,2000,5,X,\n"))



@pytest.mark.parametrize("rows, says", [
    ("2000,2000,10,TRUE,7\n2001,2001,12,FALSE,8\n", "row 1, column male: True is not a whole number"),
    ("2001,900000000000,12,4,8\n", "row 1: the years 2001-900000000000 are not years 1..9999"),
])
def test_booleans_and_years_beyond_the_calendar_are_refused_in_an_observed_csv(rows, says):
    """A column of TRUE/FALSE was read as counts 1/0; a period ending in the year 9e11 made the overlap check loop
    over every year of it (a MemoryError, or a hang)."""
    import io

    from sim.observed import read_observed_csv

    with pytest.raises(ValueError, match=re.escape(says)):
        read_observed_csv(io.StringIO("period_start,period_end,arrivals,male,female\n" + rows))
