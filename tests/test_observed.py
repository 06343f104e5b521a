"""The packaged observed series and the like-with-like comparison rule."""

import math

import pandas as pd
import pytest

from sim.observed import compare_yearly, load_observed


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
    with pytest.raises(ValueError, match="mou_arrivals"):
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


def test_cumulative_row_never_compared_even_if_every_year_simulated(observed):
    sim = {str(y): 1 for y in range(1950, 2025)}
    table = compare_yearly(sim, observed)
    assert not (table.period_end == 1998).any()
    assert table.period.tolist()[0] == "1999-2001"
    assert len(table) == len(observed) - 1


def test_no_overlap_nothing_compared(observed):
    table = compare_yearly({"1990": 5}, observed)
    assert table.empty and "log_error" in table.columns
