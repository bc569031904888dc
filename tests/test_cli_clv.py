"""`remedy clv` through CliRunner: formats, output files, and bad input with line numbers."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from remedy.cli import app

from .test_history import write_history


def history(tmp_path: Path, customers: int = 400) -> Path:
    path = tmp_path / "orders.csv"
    write_history(path, customers)
    return path


def test_clv_table_shows_parameters_tiers_and_top_customers(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["clv", str(history(tmp_path))])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "BG/NBD" in out and "log-likelihood" in out
    assert "top 5%" in out and "Top 10 customers" in out


def test_clv_json_holds_the_contract(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["clv", str(history(tmp_path)), "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"r", "alpha", "a", "b", "log_likelihood"} <= set(data["bgnbd"])
    assert data["summary"]["customers"] == 400
    assert [t["customers"] for t in data["summary"]["tiers"]] == [20, 60, 320]
    again = runner.invoke(app, ["clv", str(history(tmp_path)), "-f", "json"])
    assert again.stdout == result.stdout  # deterministic


def test_clv_csv_rows_to_a_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "clv.csv"
    result = runner.invoke(app, ["clv", str(history(tmp_path)), "-f", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 400
    assert list(rows[0]) == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "p_alive",
        "expected_purchases",
        "expected_spend",
        "clv",
    ]
    assert all(float(r["clv"]) >= 0 for r in rows)
    refused = runner.invoke(app, ["clv", str(history(tmp_path)), "-f", "csv", "-o", str(out)])
    assert refused.exit_code == 2


def test_clv_reads_stdin_and_custom_columns(runner: CliRunner, tmp_path: Path) -> None:
    text = history(tmp_path).read_text().replace("customer_id,date,amount", "email,when,total")
    args = ["clv", "-", "--customer-col", "email", "--date-col", "when", "--amount-col", "total"]
    result = runner.invoke(app, [*args, "-f", "json"], input=text)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["customers"] == 400


def test_clv_csv_neutralises_formula_ids(runner: CliRunner, tmp_path: Path) -> None:
    path = history(tmp_path)
    path.write_text(path.read_text().replace("\nc5,", "\n=c5,"))
    result = runner.invoke(app, ["clv", str(path), "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert "\n'=c5," in result.stdout


def test_clv_missing_column_lists_what_was_found(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("who,when,paid\na,2024-01-01,3\n")
    result = runner.invoke(app, ["clv", str(path)])
    assert result.exit_code == 1
    assert "who" in result.stderr and "when" in result.stderr and "Traceback" not in result.output


def test_clv_bad_date_names_the_line(runner: CliRunner, tmp_path: Path) -> None:
    path = history(tmp_path)
    lines = path.read_text().splitlines()
    lines[4] = "c9,2024-13-01,10.00"
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["clv", str(path)])
    assert result.exit_code == 1
    assert f"{path}:5:" in result.stderr and "2024-13-01" in result.stderr


def test_clv_usage_errors(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["clv", str(tmp_path / "none.csv")]).exit_code == 2
    bad_date = runner.invoke(app, ["clv", str(history(tmp_path)), "--as-of", "tomorrow"])
    assert bad_date.exit_code == 2 and "--as-of" in bad_date.stderr
    assert runner.invoke(app, ["clv", str(history(tmp_path)), "--time-unit", "year"]).exit_code == 2


def test_clv_empty_file_is_input_error(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    result = runner.invoke(app, ["clv", str(path)])
    assert result.exit_code == 1 and result.stderr.strip()


def test_duckdb_is_imported_only_for_the_inputs_that_need_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = history(tmp_path)
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from remedy.cli import app\n"
        "runner = CliRunner()\n"
        "assert runner.invoke(app, ['--help']).exit_code == 0\n"
        "assert runner.invoke(app, ['check', sys.argv[1]]).exit_code == 0\n"
        "before = sorted({'duckdb', 'pyarrow', 'scipy'} & set(sys.modules))\n"
        "assert runner.invoke(app, ['clv', sys.argv[2], '-f', 'json']).exit_code == 0\n"
        "print(before, 'duckdb' in sys.modules)\n"
    )
    incidents = str(Path(__file__).resolve().parent.parent / "incidents")
    out = subprocess.run(
        [sys.executable, "-c", code, incidents, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[] False"


def test_clv_holdout_and_predict_through_the_cli(runner: CliRunner, tmp_path: Path) -> None:
    path = history(tmp_path)
    args = ["clv", str(path), "--holdout-from", "2024-07-01", "--predict", "4", "-f", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    holdout = data["holdout"]
    assert holdout["holdout_from"] == "2024-07-01"
    assert sum(row["customers"] for row in holdout["by_frequency"]) == holdout["customers"]
    assert holdout["total_actual"] > 0 and holdout["mean_absolute_error"] >= 0
    assert data["summary"]["predict"] == 4 and data["summary"]["as_of"] == "2024-06-30"
    table = runner.invoke(app, ["clv", str(path), "--holdout-from", "2024-07-01"])
    assert table.exit_code == 0 and "Holdout 2024-07-01" in table.stdout
    late = runner.invoke(app, ["clv", str(path), "--holdout-from", "2030-01-01"])
    assert late.exit_code == 2 and late.stderr.startswith("--holdout-from: 2030-01-01")


def test_clv_json_is_strict_even_for_huge_amounts(runner: CliRunner, tmp_path: Path) -> None:
    path = history(tmp_path)
    text = path.read_text() + "c1,2024-03-03,1e308\nc1,2024-03-03,1e308\n"
    path.write_text(text)
    result = runner.invoke(app, ["clv", str(path), "-f", "json"])
    assert result.exit_code == 1
    assert "too large for an order amount" in result.stderr and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1 and len(result.stderr) <= 301


def test_clv_summary_flag_reads_a_summary(runner: CliRunner, tmp_path: Path) -> None:
    rows = ["customer_id,frequency,recency,T,monetary_value"]
    rows += [
        f"s{i},{i % 4},{(i % 4) * 3},{20 + i % 9},{(10 + i) * (i % 4 > 0)}" for i in range(200)
    ]
    path = tmp_path / "rfm.csv"
    path.write_text("\n".join(rows) + "\n")
    result = runner.invoke(app, ["clv", str(path), "--summary", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["summary"]["customers"] == 200 and data["summary"]["as_of"] is None
    assert data["columns"] is None and data["summary"]["orders"] is None
    table = runner.invoke(app, ["clv", str(path), "--summary"])
    assert table.exit_code == 0 and "200 customers" in table.stdout
    both = runner.invoke(app, ["clv", str(path), "--summary", "--holdout-from", "2024-01-01"])
    assert both.exit_code == 2


def test_clv_on_a_csv_does_not_import_scipy(tmp_path: Path) -> None:
    """scipy (0.3-0.4 s to import) stays for the planner's MILP; `remedy clv` on a CSV needs
    none of it, in any output format."""
    import subprocess
    import sys

    path = history(tmp_path)
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from remedy.cli import app\n"
        "runner = CliRunner()\n"
        "for fmt in ('json', 'csv', 'table'):\n"
        "    assert runner.invoke(app, ['clv', sys.argv[1], '-f', fmt]).exit_code == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
