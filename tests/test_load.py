"""The loader: every broken file gets one located, plain-words line; good files load exactly."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from remedy.errors import IncidentError, InputError, UsageError
from remedy.load import MAX_NODES, load_incident

from .conftest import INCIDENTS, ROOT

BROKEN = sorted((ROOT / "tests" / "broken").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.*)$")


def expectation(path: Path) -> tuple[int, int, str]:
    match = EXPECT.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert match, f"{path.name} lacks an '# expect: line:col: message' first line"
    return int(match.group(1)), int(match.group(2)), match.group(3)


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with PyYAML's C loader (when built) and with its pure-Python one: our
    messages must not depend on which one parsed the file."""
    import yaml

    if request.param == "pure-python":
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    elif not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML was built without libyaml")
    return str(request.param)


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_file_is_located_and_explained(path: Path, yaml_loader: str) -> None:
    line, col, words = expectation(path)
    with pytest.raises(IncidentError) as caught:
        load_incident(path)
    first = str(caught.value)
    assert first.startswith(f"{path}:{line}:{col}: "), first
    assert words.split(": ", 0)[0] in first
    assert words in first
    assert "\n" not in first  # one line


def test_seed_incidents_load() -> None:
    assert len(INCIDENTS) == 5
    for path in INCIDENTS:
        incident = load_incident(path)
        assert incident.id == path.stem


def test_money_is_read_exactly() -> None:
    incident = load_incident(ROOT / "incidents" / "6pm-price-cap.yaml")
    assert incident.affected.order_value == Decimal("49.95")
    assert str(incident.options.refund.amount) == "49.95"


def test_estimates_read_as_low_likely_high() -> None:
    incident = load_incident(ROOT / "incidents" / "6pm-price-cap.yaml")
    clv = incident.business.clv
    assert clv is not None and (clv.low, clv.likely, clv.high) == (150, 350, 700)
    assert clv.uncertain
    cost = incident.options.honor.cost_per_order
    assert cost is not None and not cost.uncertain and cost.likely == 50


def test_disabled_and_custom_options() -> None:
    incident = load_incident(ROOT / "incidents" / "bereavement-flowers.yaml")
    assert not incident.options.refund.enabled
    flowers = incident.options.custom["flowers"]
    assert flowers.matches == ["other"] and flowers.scope == "segment"
    assert "flowers" in incident.enabled_options()
    assert "refund" not in incident.enabled_options()


def test_byte_order_mark_is_accepted() -> None:
    data = b"\xef\xbb\xbfid: bom\ntitle: t\nkind: other\naffected:\n  customers: 1\n"
    assert load_incident("bom.yaml", data).id == "bom"


def test_non_utf8_names_the_byte_and_place() -> None:
    with pytest.raises(IncidentError, match=r"^x\.yaml:2:11: byte 0xe9 is not UTF-8"):
        load_incident("x.yaml", b"id: x\ntitle: caf\xe9\n")


def test_control_character_is_refused(yaml_loader: str) -> None:
    with pytest.raises(
        IncidentError, match=r"^x\.yaml:1:6: YAML: .*\(remove control characters\)$"
    ):
        load_incident("x.yaml", b"id: x\x07\n")


@pytest.mark.parametrize(
    ("text", "line", "col", "opener"),
    [
        ("id: x\ntitle: [unclosed\n", 2, 8, "unclosed '[' opened here"),
        ("id: x\ntitle: [unclosed\nkind: other\nsummary: s\n", 2, 8, "unclosed '[' opened here"),
        ("id: x\ntitle: {a: 1\nkind: other\n", 2, 8, "unclosed '{' opened here"),
        ('id: x\ntitle: "unclosed\nkind: other\n', 2, 8, "unclosed quote opened here"),
        ("id: x\n\n\ntitle: 'unclosed\nkind: other\n", 4, 8, "unclosed quote opened here"),
    ],
)
def test_an_unclosed_construct_is_reported_where_it_began(
    yaml_loader: str, text: str, line: int, col: int, opener: str
) -> None:
    with pytest.raises(IncidentError) as caught:
        load_incident("x.yaml", text.encode())
    message = str(caught.value)
    assert message.startswith(f"x.yaml:{line}:{col}: YAML syntax: {opener} (parsing stopped at")
    assert "close it with" in message and "\n" not in message and len(message) <= 300


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    data = ("\n".join(lines) + "\n").encode()
    with pytest.raises(IncidentError, match=f"more than {MAX_NODES:,} values"):
        load_incident("bomb.yaml", data)


def test_very_deep_nesting_does_not_recurse() -> None:
    # Whichever limit fires first (ours at 32 levels, or the YAML library's own nesting limit in
    # some versions), the refusal is clean: one line, located in the file, about nesting.
    data = ("a: " + "[" * 50_000 + "]" * 50_000 + "\n").encode()
    with pytest.raises(IncidentError) as caught:
        load_incident("deep.yaml", data)
    message = str(caught.value)
    assert re.match(r"deep\.yaml:1:\d+: ", message), message
    assert re.search(r"nest|depth", message), message
    assert "\n" not in message


def test_nesting_just_past_our_limit_is_refused_by_us() -> None:
    # 33 levels: below any YAML library's own limit, so this is our check speaking.
    data = ("a: " + "[" * 33 + "]" * 33 + "\n").encode()
    with pytest.raises(IncidentError, match="nested more than 32 levels"):
        load_incident("deep.yaml", data)
    ok = ("a: " + "[" * 31 + "]" * 31 + "\n").encode()
    with pytest.raises(IncidentError) as caught:
        load_incident("ok.yaml", ok)
    assert "nested" not in str(caught.value)  # fails later, on the unknown key


def test_oversized_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REMEDY_MAX_BYTES", "1000")
    big = tmp_path / "big.yaml"
    big.write_text("id: x\nsummary: '" + "a" * 2000 + "'\n")
    with pytest.raises(InputError, match="larger than 1,000 bytes"):
        load_incident(big)


def test_missing_file_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_incident("does-not-exist.yaml")


def test_all_validation_problems_are_reported_in_file_order() -> None:
    data = b"id: Bad Id\ntitle: t\nkind: nope\naffected:\n  customers: x\n"
    with pytest.raises(IncidentError) as caught:
        load_incident("many.yaml", data)
    lines = [p.location.line for p in caught.value.problems]
    assert lines == sorted(lines) and len(lines) == 3


def test_customers_files_resolve_relative_to_incident(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "i.yaml"
    path.write_text(
        "id: x\ntitle: t\nkind: other\ncustomers:\n  file: people.csv\n  orders: ../o.csv\n"
    )
    with pytest.raises(
        IncidentError, match=r"i\.yaml:6:11: customers\.orders: '\.\./o\.csv' leads"
    ):
        load_incident(path)  # outside the incident's folder: refused unless allowed
    incident = load_incident(path, allow_outside=[tmp_path])
    assert incident.customers is not None
    assert incident.customers.file == tmp_path / "sub" / "people.csv"
    assert incident.customers.orders == tmp_path / "sub" / ".." / "o.csv"


def test_explicit_str_tag_quotes_a_number() -> None:
    incident = load_incident(
        "t.yaml", b"id: x\ntitle: !!str 2010-05-21\nkind: other\naffected:\n  customers: 1\n"
    )
    assert incident.title == "2010-05-21"


def test_title_text_stays_data() -> None:
    data = b"id: x\ntitle: '{{ 7*7 }} =SUM(A1)'\nkind: other\naffected:\n  customers: 1\n"
    assert load_incident("t.yaml", data).title == "{{ 7*7 }} =SUM(A1)"


def test_seed_incidents_round_trip_through_plain_data() -> None:
    from remedy.incident import Incident

    for path in INCIDENTS:
        incident = load_incident(path)
        dumped = incident.model_dump(mode="python")
        # Custom options sit beside the built-in ones in a file, as the format writes them.
        options = dumped["options"]
        options.update(options.pop("custom"))
        again = Incident.model_validate(dumped)
        assert again == incident, path.name
        assert again.model_dump() == incident.model_dump()
