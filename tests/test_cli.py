"""The letsnode command, with its exact output."""

import json
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from letsnode.cli.main import main

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def run(tmp_path):
    runner = CliRunner()
    data = str(tmp_path / "D")

    def invoke(*args, ok=True):
        result = runner.invoke(main, ["--data", data, *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    invoke.data = data
    return invoke


@pytest.fixture
def bank(run):
    run(
        "init",
        "--name",
        "Valencia Time Bank",
        "--short",
        "valencia",
        "--unit",
        "HOUR",
        "--scale",
        "2",
        "--floor",
        "-20",
        "--ceiling",
        "40",
    )
    run("member", "add", "maria")
    run("member", "add", "ahmed", "--floor", "-50")
    return run


def test_init_prints_the_community_and_its_id(run):
    result = run(
        "init",
        "--name",
        "Valencia Time Bank",
        "--short",
        "valencia",
        "--unit",
        "HOUR",
        "--floor",
        "-20",
        "--ceiling",
        "40",
    )
    lines = result.output.splitlines()
    assert lines[0] == f"created community Valencia Time Bank (valencia) in {run.data}"
    assert re.fullmatch(r"id [0-9a-f]{64}", lines[1])


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--short", "Valencia", "short name 'Valencia' must be 1 to 32 lowercase"),
        ("--unit", "hour", "unit 'hour' must be 1 to 12 capital letters"),
        ("--floor", "5", "floor must be zero or negative"),
        ("--ceiling", "-1", "ceiling must be zero or positive"),
        ("--scale", "9", "scale must be a whole number from 0 to 8"),
    ],
)
def test_init_with_bad_settings_says_which_and_creates_nothing(run, option, value, fragment):
    args = {"--name": "Bank", "--short": "bank", "--unit": "HOUR", option: value}
    result = run("init", *[x for pair in args.items() for x in pair], ok=False)
    assert result.exit_code == 1
    assert fragment in result.stderr
    assert not Path(run.data).exists()


def test_init_refuses_a_folder_that_already_holds_a_community(bank):
    result = bank("init", "--name", "X", "--short", "x", "--unit", "HOUR", ok=False)
    assert result.exit_code == 1
    assert "already holds a community" in result.stderr


def test_member_add_creates_a_private_key_file(bank, tmp_path):
    key = tmp_path / "D" / "keys" / "maria.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    result = bank("member", "add", "eleni", "--ceiling", "none")
    assert result.output == (
        f"admitted eleni (member, floor -20.00, ceiling none) as entry 3, key in "
        f"{bank.data}/keys/eleni.key\n"
    )


def test_pay_then_balance_shows_exact_table(bank):
    assert bank("pay", "maria", "ahmed", "1.50", "--memo", "bread").output == (
        "paid 1.50 HOUR from maria to ahmed (entry 3); maria's balance is -1.50\n"
    )
    assert bank("balance").output == (
        "Valencia Time Bank (valencia), amounts in HOUR\n"
        "handle  kind    status  balance   floor  ceiling\n"
        "ahmed   member  active     1.50  -50.00    40.00\n"
        "maria   member  active    -1.50  -20.00    40.00\n"
    )


def test_balance_json_has_decimal_and_minor_units(bank):
    bank("pay", "maria", "ahmed", "1.50")
    data = json.loads(bank("balance", "maria", "--json").output)
    assert data["community"]["unit"] == "HOUR" and data["community"]["scale"] == 2
    account = data["accounts"][0]
    del account["key"]
    assert account == {
        "handle": "maria",
        "kind": "member",
        "status": "active",
        "balance": "-1.50",
        "balance_minor": -150,
        "floor": "-20.00",
        "floor_minor": -2000,
        "ceiling": "40.00",
        "ceiling_minor": 4000,
    }


def test_history_lists_payments_newest_first(bank):
    bank("pay", "maria", "ahmed", "1.50", "--memo", "bread")
    bank("pay", "ahmed", "maria", "0.25", "--memo", "olives")
    text = TIME.sub("YYYY-MM-DDThh:mm:ssZ", bank("history").output)
    assert text == (
        "seq  time                  payer  payee  amount  memo\n"
        "  4  YYYY-MM-DDThh:mm:ssZ  ahmed  maria    0.25  olives\n"
        "  3  YYYY-MM-DDThh:mm:ssZ  maria  ahmed    1.50  bread\n"
    )
    data = json.loads(bank("history", "maria", "--json").output)
    assert [p["amount_minor"] for p in data["payments"]] == [25, 150]


def test_a_payment_below_the_floor_is_refused_and_changes_nothing(bank):
    before = bank("balance", "--json").output
    result = bank("pay", "maria", "ahmed", "20.01", ok=False)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: maria cannot pay 20.01 HOUR: the balance 0.00 HOUR would go below its floor "
        "-20.00 HOUR [below_floor]\n"
    )
    assert bank("balance", "--json").output == before


@pytest.mark.parametrize("amount", ["1.505", "1e3", "-1", "0", "NaN", ""])
def test_bad_amounts_are_refused_with_one_line(bank, amount):
    result = bank("pay", "maria", "ahmed", amount, ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: amount") and result.stderr.count("\n") == 1


def test_frozen_member_cannot_be_paid(bank):
    assert bank("member", "freeze", "ahmed").output == "ahmed is now frozen (entry 3)\n"
    result = bank("pay", "maria", "ahmed", "1", ok=False)
    assert "ahmed is frozen" in result.stderr and "[account_frozen]" in result.stderr
    bank("member", "unfreeze", "ahmed")
    bank("pay", "maria", "ahmed", "1")


def test_limits_change_is_recorded(bank):
    assert bank("member", "limits", "maria", "--floor", "-30", "--ceiling", "none").output == (
        "limits of maria: floor -30.00, ceiling none (entry 3)\n"
    )
    bank("pay", "maria", "ahmed", "25")


def test_paying_for_a_member_with_its_own_key_is_impossible(bank):
    bank("member", "add", "eleni", "--key", "ab" * 32)
    result = bank("pay", "eleni", "maria", "1", ok=False)
    assert "holds no key for eleni" in result.stderr


def test_commands_on_an_empty_folder_say_how_to_start(run):
    result = run("balance", ok=False)
    assert result.exit_code == 1
    assert f"holds no community: run 'letsnode --data {run.data} init'" in result.stderr


def test_data_folder_comes_from_the_environment(bank, tmp_path):
    result = CliRunner().invoke(main, ["id", "--json"], env={"LETSNODE_DATA": bank.data})
    assert json.loads(result.output)["short"] == "valencia"


def test_export_then_audit_the_file_and_the_folder(bank, tmp_path):
    bank("pay", "maria", "ahmed", "1.50")
    out = tmp_path / "log.bin"
    assert bank("export", str(out)).output == f"exported 4 entries to {out}\n"
    for source in (str(out), bank.data):
        result = bank("audit", source, "--json")
        report = json.loads(result.output)
        assert report["ok"] and report["entries"] == 4 and report["accounts"] == 2
    text = bank("audit", str(out)).output.splitlines()
    assert text[0] == f"audit ok: {out}"
    assert text[2:4] == ["entries    4", "accounts   2"]


def test_audit_can_insist_on_the_community_id(bank, tmp_path):
    community = json.loads(bank("id", "--json").output)["id"]
    bank("audit", bank.data, "--community", community)
    result = bank("audit", bank.data, "--community", "00" * 32, ok=False)
    assert result.exit_code == 1 and "[wrong_community]" in result.stderr
