"""`remedy check`, `schema`, `new` and the CLI's house rules, through CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remedy import __version__
from remedy.cli import app
from remedy.load import load_incident
from remedy.schema import schema_text

from .conftest import ROOT


def test_every_command_has_help_text(runner: CliRunner) -> None:
    import typer.main

    group = typer.main.get_command(app)
    assert group.commands, "no commands registered"
    for name, command in group.commands.items():
        assert (command.help or "").strip(), f"{name} has no help text"
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage" in result.output


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_check_bundled_incidents_green(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", str(ROOT / "incidents")])
    assert result.exit_code == 0, result.output
    assert "5 files checked: 5 valid, 0 invalid" in result.stderr


def test_check_broken_folder_exits_1_with_a_line_per_problem(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", str(ROOT / "tests" / "broken")])
    assert result.exit_code == 1
    assert "0 valid" in result.stderr
    assert "Traceback" not in result.output
    assert "affectd: unknown key (did you mean 'affected'?)" in result.stdout


def test_check_json(runner: CliRunner) -> None:
    path = ROOT / "tests" / "broken" / "typo-key.yaml"
    result = runner.invoke(app, ["check", str(path), "--format", "json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["schema_version"] == 1 and payload["valid"] is False
    problem = payload["files"][0]["problems"][0]
    assert (problem["line"], problem["column"], problem["key"]) == (5, 1, "affectd")


def test_check_github_annotations(runner: CliRunner) -> None:
    path = ROOT / "tests" / "broken" / "wrong-type.yaml"
    result = runner.invoke(app, ["check", str(path), "--format", "github"])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"::error file={path},line=6,col=14::affected.customers:")


def test_check_stdin(runner: CliRunner) -> None:
    text = (ROOT / "incidents" / "stolen-parcel.yaml").read_text()
    assert runner.invoke(app, ["check", "-"], input=text).exit_code == 0
    bad = runner.invoke(app, ["check", "-"], input="id: x\nkind: nope\n")
    assert bad.exit_code == 1 and bad.stdout.startswith("<stdin>:")


def test_check_missing_path_is_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", "nowhere.yaml"])
    assert result.exit_code == 2
    assert "nowhere.yaml: no such file or folder" in result.stderr


def test_unknown_flag_is_usage_error(runner: CliRunner) -> None:
    assert runner.invoke(app, ["check", "--bogus", "x"]).exit_code == 2


def test_schema_matches_committed_file(runner: CliRunner) -> None:
    # Compared as data: pydantic versions print the same schema with 1 or 1.0.
    committed = json.loads((ROOT / "incident.schema.json").read_text(encoding="utf-8"))
    fix = "run: remedy schema -o incident.schema.json --force"
    assert committed == json.loads(schema_text()), fix
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0 and json.loads(result.stdout)["$id"]


def test_schema_describes_the_format() -> None:
    schema = json.loads(schema_text())
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["additionalProperties"] is False
    assert {"id", "title", "kind"} <= set(schema["required"])
    options = schema["$defs"]["Options"]
    assert options["additionalProperties"]["anyOf"][0]["$ref"].endswith("CustomOption")


def test_schema_validates_seed_files_with_an_independent_validator() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    validator = jsonschema.Draft202012Validator(json.loads(schema_text()))
    for path in sorted((ROOT / "incidents").glob("*.yaml")):
        # YAML reads dates as date objects; JSON (what the schema describes) has strings.
        data = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        assert not list(validator.iter_errors(data)), path.name


def test_new_writes_a_valid_starter(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "outage.yaml"
    args = ["new", str(out), "--kind", "outage", "--customers", "1200", "--company", "Acme"]
    result = runner.invoke(app, [*args, "--no-input"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    incident = load_incident(out)
    assert incident.kind == "outage" and incident.affected.customers == 1200
    assert incident.sender is not None and incident.sender.company == "Acme"


def test_new_refuses_to_overwrite_without_force(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "i.yaml"
    out.write_text("precious")
    result = runner.invoke(app, ["new", str(out), "--no-input"])
    assert result.exit_code == 2 and "--force" in result.stderr
    assert out.read_text() == "precious"
    assert runner.invoke(app, ["new", str(out), "--no-input", "--force"]).exit_code == 0
    assert load_incident(out).kind == "late_delivery"


def test_new_quotes_hostile_text(runner: CliRunner) -> None:
    title = 'Oops: "quoted" {{ 7*7 }}\n#not a comment'
    result = runner.invoke(app, ["new", "-", "--no-input", "--title", title.replace("\n", " ")])
    assert result.exit_code == 0, result.output
    assert load_incident("new.yaml", result.stdout.encode()).title == title.replace("\n", " ")


def test_new_bad_kind_suggests(runner: CliRunner) -> None:
    result = runner.invoke(app, ["new", "-", "--no-input", "--kind", "outge"])
    assert result.exit_code == 2 and "did you mean 'outage'" in result.stderr


def test_python_dash_m_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "remedy", "check", str(ROOT / "incidents")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_cli_module_imports_no_heavy_module() -> None:
    code = (
        "import sys, remedy.cli; "
        "heavy = {'numpy','scipy','jinja2','yaml','rich','pandas'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_new_blames_the_flag_for_a_bad_value(runner: CliRunner) -> None:
    bad_email = runner.invoke(app, ["new", "-", "--no-input", "--email", "bad"])
    assert bad_email.exit_code == 2 and bad_email.stderr.startswith("--email: 'bad'")
    two_lines = runner.invoke(app, ["new", "-", "--no-input", "--title", "a\nb"])
    assert two_lines.exit_code == 2 and two_lines.stderr.count("\n") == 1
    cents = runner.invoke(app, ["new", "-", "--no-input", "--order-value", "1.005"])
    assert cents.exit_code == 2 and "--order-value" in cents.stderr


def test_money_has_no_more_decimals_than_its_currency(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "yen.yaml"
    path.write_text(
        "id: x\ntitle: t\nkind: outage\ncurrency: JPY\naffected:\n  customers: 3\n"
        "  order_value: 10.5\nbusiness:\n  clv: 10\n"
    )
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:7:3: affected.order_value: 10.5 has more decimals than JPY" in result.stdout
    assert "round it to 11" in result.stdout


def test_force_never_replaces_a_device(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema", "-o", "/dev/null", "--force"])
    assert result.exit_code == 2 and "not a regular file" in result.stderr
    assert not Path("/dev/null").is_file()


def test_outputs_get_the_usual_permissions(runner: CliRunner, tmp_path: Path) -> None:
    import os

    out = tmp_path / "schema.json"
    assert runner.invoke(app, ["schema", "-o", str(out)]).exit_code == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_check_skips_folders_named_like_yaml(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "sub.yml").mkdir()
    (tmp_path / "ok.yaml").write_text((ROOT / "incidents" / "stolen-parcel.yaml").read_text())
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 0 and "1 file checked" in result.stderr


def test_bad_size_limit_setting_is_usage_error(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDY_MAX_BYTES", "lots")
    result = runner.invoke(app, ["check", str(ROOT / "incidents" / "stolen-parcel.yaml")])
    assert result.exit_code == 1 and "REMEDY_MAX_BYTES" in result.stdout
