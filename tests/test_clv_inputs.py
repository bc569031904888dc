"""Every way of giving remedy an order history leads to the same fit: the in-memory CSV reader,
DuckDB on a large CSV, a gzip CSV, Parquet (typed or text columns), and a per-customer summary
made by the README's SQL (as a warehouse would run it). Also: bad input through DuckDB, the
holdout validation on simulated data, and an out-of-core run under a memory cap."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from remedy import clv, rfm
from remedy.clv import ClvOptions, estimate_clv
from remedy.errors import InputError

from .test_clv import simulated_csv

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs")
    data = simulated_csv(customers=1200, seed=3)
    # Zero-value and negative days too, so every rule is exercised on every path.
    data += b"cust00001,2024-05-01,0\ncust00002,2024-05-02,-3.5\ncust00003,2024-02-02,0.00\n"
    (path / "orders.csv").write_bytes(data)
    (path / "orders.csv.gz").write_bytes(gzip.compress(data))
    con = duckdb.connect()
    source = f"read_csv('{path / 'orders.csv'}', header = true, all_varchar = true)"
    con.execute(
        "COPY (SELECT customer_id, CAST(date AS DATE) AS date, CAST(amount AS DOUBLE) AS amount "
        f"FROM {source}) TO '{path / 'typed.parquet'}' (FORMAT parquet)"
    )
    con.execute(f"COPY (SELECT * FROM {source}) TO '{path / 'text.parquet'}' (FORMAT parquet)")
    return path


def params(result: clv.ClvResult) -> np.ndarray:
    assert result.gamma_gamma is not None
    return np.array([*result.bgnbd.params, result.bgnbd.log_likelihood, *result.gamma_gamma.params])


def readme_sql() -> str:
    """The summary query as printed in the README (it must be the one the code runs)."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"```sql\n(WITH transactions AS.*?)\n```", text, re.S)
    assert match, "README has no summary SQL block"
    return match[1]


def test_readme_prints_the_query_the_code_runs() -> None:
    assert readme_sql() == rfm.SUMMARY_SQL


@pytest.mark.parametrize("name", ["orders.csv.gz", "typed.parquet", "text.parquet", "large"])
def test_every_input_gives_the_csv_fit(
    folder: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = estimate_clv(folder / "orders.csv", options=ClvOptions(as_of=dt.date(2024, 9, 30)))
    if name == "large":  # a CSV above the in-memory limit goes through DuckDB
        monkeypatch.setenv("REMEDY_IN_MEMORY_BYTES", "1000")
        name = "orders.csv"
    other = estimate_clv(folder / name, options=ClvOptions(as_of=dt.date(2024, 9, 30)))
    np.testing.assert_allclose(params(other), params(base), rtol=1e-9)
    assert other.customers == base.customers and other.orders == base.orders
    assert other.transactions == base.transactions
    by_id = base.clv_by_customer()
    np.testing.assert_allclose([by_id[c] for c in other.customer_ids], other.clv, rtol=1e-9)
    assert sorted(base.warnings) == sorted(other.warnings) or len(base.warnings) == len(
        other.warnings
    )


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_the_readme_sql_summary_gives_the_same_fit(folder: Path, suffix: str) -> None:
    as_of = dt.date(2024, 9, 30)
    base = estimate_clv(folder / "orders.csv", options=ClvOptions(as_of=as_of))
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE orders AS SELECT customer_id, CAST(date AS DATE) AS order_date, "
        f"CAST(amount AS DOUBLE) AS amount FROM read_csv('{folder / 'orders.csv'}', "
        "header = true, all_varchar = true)"
    )
    query = readme_sql().format(as_of=as_of.isoformat(), unit_days="7.0")
    target = folder / f"summary.{suffix}"
    options = "(FORMAT parquet)" if suffix == "parquet" else "(HEADER, DELIMITER ',')"
    con.execute(f"COPY ({query}) TO '{target}' {options}")
    summary = estimate_clv(target, options=ClvOptions(summary=True))
    np.testing.assert_allclose(params(summary), params(base), rtol=1e-9)
    assert summary.customers == base.customers and summary.as_of is None
    by_id = base.clv_by_customer()
    np.testing.assert_allclose([by_id[c] for c in summary.customer_ids], summary.clv, rtol=1e-9)


def test_summary_file_rules_name_the_customer(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("customer_id,frequency,recency,T,monetary_value\na,1,5,3,10\nb,0,0,4,0\n")
    with pytest.raises(InputError, match=r"s\.csv: customer 'a': recency must not exceed T"):
        estimate_clv(path, options=ClvOptions(summary=True))
    path.write_text("customer_id,frequency,recency\na,1,5\n")
    with pytest.raises(InputError, match=r"s\.csv:1: a summary needs the columns .* missing T"):
        estimate_clv(path, options=ClvOptions(summary=True))
    path.write_text("customer_id,frequency,recency,T,monetary_value\na,1,2,3,nan\n")
    with pytest.raises(InputError, match="monetary_value: 'nan' is not a number"):
        estimate_clv(path, options=ClvOptions(summary=True))


def test_bad_rows_in_a_large_csv_still_name_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDY_IN_MEMORY_BYTES", "10")
    lines = simulated_csv(customers=100, seed=5).decode().splitlines()
    lines[7] = "cust99,2024-02-30,5"
    path = tmp_path / "o.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"o\.csv:8: date: '2024-02-30' is not a date"):
        estimate_clv(path)
    lines[7] = 'cust99,2024-02-03,"$1,234.50"'  # not DuckDB's plain form, but unambiguous
    path.write_text("\n".join(lines) + "\n")
    assert "cust99" in estimate_clv(path).customer_ids
    lines[7] = "cust99,2024-02-03,5,extra"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"o\.csv:8: expected 3 fields like the header, found 4"):
        estimate_clv(path)


def test_bad_parquet_values_are_refused_naming_a_customer(tmp_path: Path) -> None:
    path = tmp_path / "o.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT 'c' || i AS customer_id, DATE '2024-01-01' + CAST(i AS INTEGER) AS date, "
        "CASE WHEN i = 7 THEN 'nan' ELSE '5' END AS amount FROM range(50) t(i)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    with pytest.raises(InputError) as info:
        estimate_clv(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 1 order(s) have") and "customer 'c7'" in message
    assert len(message) <= 300
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="cannot be read as parquet"):
        estimate_clv(tmp_path / "broken.parquet")


def test_holdout_validation_on_simulated_data_agrees_within_its_error() -> None:
    """Customers drawn from BG/NBD with known parameters, observed 52 weeks with the last 26 as
    the holdout: the fit on the first 26 predicts the holdout purchases within a few percent in
    total and in each well-populated frequency bucket."""
    rng = np.random.default_rng(2024)
    n = 6000
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    first = rng.integers(0, 84, n)
    rate = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    lines = ["customer_id,date,amount"]
    start = dt.date(2024, 1, 1)
    end_day = 364
    for i in range(n):
        lines.append(f"c{i},{start + dt.timedelta(days=int(first[i]))},10")
        day, alive = float(first[i]), True
        while alive:
            day += rng.exponential(7 / rate[i]) if rate[i] > 0 else end_day
            if day > end_day:
                break
            lines.append(f"c{i},{start + dt.timedelta(days=int(day))},10")
            alive = rng.random() >= drop[i]
    data = ("\n".join(lines) + "\n").encode()
    options = ClvOptions(
        as_of=start + dt.timedelta(days=end_day), holdout_from=start + dt.timedelta(days=182)
    )
    result = estimate_clv("sim.csv", data, options)
    holdout = result.holdout
    assert holdout is not None and holdout.customers == n
    assert holdout.length == pytest.approx(183 / 7)
    # Sampling error of the actual total is about sqrt(2 x 2,000), 3%: allow 10%.
    assert abs(holdout.relative_error) < 0.10, holdout.text_lines()
    big = holdout.bucket_customers >= 200
    np.testing.assert_allclose(
        holdout.bucket_predicted[big], holdout.bucket_actual[big], rtol=0.2, atol=0.05
    )
    assert not holdout.weak
    assert holdout.mean_absolute_error > 0
    document = result.to_json()["holdout"]
    assert document["total_actual"] == holdout.total_actual
    assert [row["frequency"] for row in document["by_frequency"]][-1] == "7+"


def test_a_weak_fit_is_a_warning() -> None:
    """A holdout window in which every customer came back: far more than any fit predicts."""
    lines = ["customer_id,date,amount"]
    rng = np.random.default_rng(1)
    for i in range(300):
        lines.append(f"c{i},2024-01-{1 + i % 28:02d},5")
        if i % 3 == 0:
            lines.append(f"c{i},2024-02-{1 + i % 28:02d},5")
        for day in (1, 8, 15):
            lines.append(f"c{i},2024-05-{day + int(rng.integers(0, 5)):02d},5")
    data = ("\n".join(lines) + "\n").encode()
    result = estimate_clv("w.csv", data, ClvOptions(holdout_from=dt.date(2024, 4, 1)))
    assert result.holdout is not None and result.holdout.weak
    assert any(w.startswith("weak fit: the holdout had") for w in result.warnings)


def test_out_of_core_summary_under_a_memory_cap(tmp_path: Path) -> None:
    """3 million orders in Parquet, summarised by a process whose data memory is capped at
    450 MiB (RLIMIT_DATA): DuckDB works within its limit and spills the rest to disk. The same
    orders as a CSV do not fit under that cap for the in-memory reader, so the cap bites."""
    path = tmp_path / "big.parquet"
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT 'customer-' || lpad(CAST(i % 60000 AS VARCHAR), 9, '0') AS customer_id, "
        "DATE '2023-01-01' + CAST((i * 7919) % 365 AS INTEGER) AS date, "
        "CAST(5 + (i % 97) AS DOUBLE) AS amount FROM range(3000000) t(i)) "
        f"TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 100000)"
    )
    con.execute(f"COPY (SELECT * FROM '{path}') TO '{tmp_path / 'big.csv'}' (HEADER)")
    code = (
        "import resource, sys\n"
        "cap = 450 * 2**20\n"
        "resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))\n"
        "from remedy import orders, rfm\n"
        "if sys.argv[1].endswith('.csv'):\n"
        "    try:\n"
        "        rfm.summarise_orders(orders.read_orders(sys.argv[1]), 7.0)\n"
        "    except MemoryError:\n"
        "        print('out of memory')\n"
        "    raise SystemExit\n"
        "s = rfm.summarise_with_duckdb(sys.argv[1], 'parquet', 7.0, (None, None, None))\n"
        "print(s.customers, int(s.frequency.sum()))\n"
    )
    env = {**os.environ, "REMEDY_DUCKDB_MEMORY": "128MB"}

    def run(target: Path) -> str:
        out = subprocess.run(
            [sys.executable, "-c", code, str(target)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.strip()

    customers, repeats = (int(v) for v in run(path).split())
    assert customers == 60000
    expected = con.execute(
        f"SELECT COUNT(*) - COUNT(DISTINCT customer_id) FROM (SELECT DISTINCT customer_id, date "
        f"FROM '{path}')"
    ).fetchone()
    assert expected is not None and repeats == expected[0]
    assert run(tmp_path / "big.csv") == "out of memory"


@pytest.mark.parametrize("kind", ["parquet", "gz", "summary"])
def test_an_incident_may_name_parquet_gzip_or_a_summary(tmp_path: Path, kind: str) -> None:
    from remedy.history import value_from_history
    from remedy.load import load_incident

    from .test_history import incident_file, write_history

    write_history(tmp_path / "orders.csv", 400)
    base = value_from_history(load_incident(incident_file(tmp_path)))
    con = duckdb.connect()
    source = f"read_csv('{tmp_path / 'orders.csv'}', header = true, all_varchar = true)"
    if kind == "parquet":
        name = "history.parquet"
        con.execute(f"COPY (SELECT * FROM {source}) TO '{tmp_path / name}' (FORMAT parquet)")
    elif kind == "gz":
        name = "history.csv.gz"
        (tmp_path / name).write_bytes(gzip.compress((tmp_path / "orders.csv").read_bytes()))
    else:
        name = "rfm.csv"
        last = con.execute(f"SELECT max(CAST(date AS DATE)) FROM {source}").fetchone()
        assert last is not None
        con.execute(
            "CREATE TABLE orders AS SELECT customer_id, CAST(date AS DATE) AS order_date, "
            f"CAST(amount AS DOUBLE) AS amount FROM {source}"
        )
        query = rfm.SUMMARY_SQL.format(as_of=last[0].isoformat(), unit_days="7.0")
        con.execute(f"COPY ({query}) TO '{tmp_path / name}' (HEADER)")
    path = incident_file(tmp_path)
    path.write_text(path.read_text().replace("orders: orders.csv", f"orders: {name}"))
    other = value_from_history(load_incident(path))
    assert base is not None and other is not None
    assert other.clv_by_customer.keys() == base.clv_by_customer.keys()
    for customer, value in base.clv_by_customer.items():
        assert other.clv_by_customer[customer] == pytest.approx(value, rel=1e-9)
