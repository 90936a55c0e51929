"""Scenario files: every shipped one is valid; a bad one is refused in one line that names
the file, the key and what is wrong (``error: ... [invalid_input]``, exit code 1)."""

import pytest

from letsnode.sim.fields import ScenarioError
from letsnode.sim.parse import load_scenario, parse_scenario
from tests.sim_helpers import SIMULATIONS, letsnode

GOOD = {
    "name": "t",
    "days": 1,
    "communities": [{"short": "a"}, {"short": "b", "kind": "timebank"}],
    "lines": [{"between": ["a", "b"], "limit": 100}],
}


@pytest.mark.parametrize("path", sorted(SIMULATIONS.rglob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_is_valid(path):
    if path.parent.name == "sweeps":
        from letsnode.sim.sweep import load_sweep

        assert load_sweep(path).points
    else:
        assert load_scenario(path).communities


def test_the_shipped_default_spans_six_countries_and_three_kinds():
    s = load_scenario(SIMULATIONS / "mediterranean.toml")
    countries = {c.country for c in s.communities}
    assert countries == {"Spain", "Greece", "Portugal", "Palestine", "Tunisia", "Jordan"}
    assert {c.kind for c in s.communities} == {"lets", "timebank", "municipal"}
    assert all(c.issuer for c in s.communities if c.kind == "municipal")


def test_amounts_are_in_the_communitys_unit_and_lines_in_the_first_ones():
    s = parse_scenario(
        {
            **GOOD,
            "communities": [
                {"short": "a", "floor": "-12.50", "scale": 2},
                {"short": "b", "scale": 0},
            ],
        },
        "t.toml",
    )
    assert s.communities[0].floor == -1250 and s.lines[0].limit_out == s.lines[0].limit_in == 10_000


def test_count_expands_one_entry_into_many_communities():
    s = parse_scenario(
        {**GOOD, "communities": [{"short": "c", "name": "Town", "count": 3}], "lines": []}, "t.toml"
    )
    assert [(c.short, c.name) for c in s.communities] == [
        ("c1", "Town 1"),
        ("c2", "Town 2"),
        ("c3", "Town 3"),
    ]


def test_generated_topologies():
    many = [{"short": "c", "count": 8}]
    ring = parse_scenario(
        {**GOOD, "communities": many, "lines": [], "topology": {"kind": "ring", "limit": 5}}, "t"
    )
    assert len(ring.lines) == 8
    star = parse_scenario(
        {
            **GOOD,
            "communities": many,
            "lines": [],
            "topology": {"kind": "star", "hub": "c3", "limit": 5},
        },
        "t",
    )
    assert len(star.lines) == 7 and all(x.a == "c3" for x in star.lines)
    world = {"kind": "small-world", "k": 4, "p": 0.3, "limit": 5, "seed": 2}
    sw = parse_scenario({**GOOD, "communities": many, "lines": [], "topology": world}, "t")
    again = parse_scenario({**GOOD, "communities": many, "lines": [], "topology": world}, "t")
    assert len(sw.lines) == 16 and sw.lines == again.lines
    assert len({frozenset((x.a, x.b)) for x in sw.lines}) == 16


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"dayz": 3}, "t.toml: dayz: is not a key this table knows (a typo?)"),
        ({"days": "long"}, "t.toml: days: must be a number, got text"),
        ({"days": 0}, "t.toml: days: must be greater than 0, got 0"),
        ({"communities": []}, "t.toml: communities: must list at least one community"),
        (
            {"communities": [{"short": "a", "floor": "1.234"}]},
            "t.toml: communities[0].floor: must be an amount of UNIT with at most 2 decimals, "
            "got '1.234'",
        ),
        (
            {"communities": [{"short": "A"}]},
            "t.toml: communities[0].short: short name 'A' must be 1 to 32 lowercase",
        ),
        (
            {"communities": [{"short": "a", "kind": "bank"}]},
            "t.toml: communities[0].kind: must be one of lets, timebank, municipal, got 'bank'",
        ),
        (
            {"lines": [{"between": ["a", "z"], "limit": 5}]},
            "t.toml: lines[0].between: names 'z', which is not a community of this scenario",
        ),
        ({"lines": [{"between": ["a", "b"]}]}, "t.toml: lines[0].limit: is missing"),
        (
            {"lines": [{"between": ["a", "b"], "limit": 5, "rate": "1:2"}]},
            "t.toml: lines[0].rate: must be NUM/DEN",
        ),
        ({"trade": {"cross_share": 2}}, "t.toml: trade.cross_share: must be at most 1, got 2"),
        (
            {"faults": [{"kind": "crash", "community": "q", "day": 1, "down_hours": 1}]},
            "t.toml: faults[0].community: 'q' is not a community",
        ),
        (
            {"validation": {"kind": "credit-line"}},
            't.toml: validation (credit-line): trade.amount must be "fixed"',
        ),
    ],
)
def test_a_bad_scenario_is_refused_naming_the_key(change, says):
    with pytest.raises(ScenarioError) as err:
        parse_scenario({**GOOD, **change}, "t.toml")
    assert str(err.value).startswith(says)
    assert err.value.code == "invalid_input"


def test_overrides_set_keys_everywhere_and_bad_ones_are_refused(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "s"\ndays = 1\n[[communities]]\nshort = "a"\n[[communities]]\nshort = "b"\n'
    )
    s = load_scenario(path, overrides=["communities.*.members=7", "trade.cross_share=0.5"], seed=4)
    assert (
        [c.members for c in s.communities] == [7, 7] and s.trade.cross_share == 0.5 and s.seed == 4
    )
    with pytest.raises(ScenarioError, match=r"communities\.2\.members: '2' is not an index"):
        load_scenario(path, overrides=["communities.2.members=7"])
    with pytest.raises(ScenarioError, match="the value must be TOML"):
        load_scenario(path, overrides=["trade.partners=modular"])


def test_the_command_refuses_a_bad_file_in_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ndays = 2\n[[communities]]\nshort = "a"\nmembrs = 5\n')
    done = letsnode("simulate", str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        f"error: {bad}: communities[0].membrs: is not a key this table knows (a typo?) "
        "[invalid_input]\n"
    )
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    done = letsnode("simulate", str(broken), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and done.stderr.startswith(f"error: {broken}: not valid TOML")
    assert done.stderr.endswith("[invalid_input]\n") and done.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()
