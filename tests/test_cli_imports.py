"""Starting ``letsnode`` loads click and the command table, not the libraries behind the
commands: a command's module is imported when that command runs (``cli/main.py``)."""

import importlib
import subprocess
import sys

from letsnode.cli.main import COMMANDS

HEAVY = ("dask", "distributed", "libp2p", "numpy", "matplotlib", "sqlite_utils", "ortools")


def loaded_after(code: str) -> list[str]:
    probe = (
        "import sys\n" + code + "\n"
        f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return [m for m in out.strip().split(",") if m]


def test_starting_the_cli_and_its_help_import_none_of_the_heavy_libraries():
    assert loaded_after("import letsnode.cli.main") == []
    help_ = (
        "from click.testing import CliRunner\n"
        "from letsnode.cli.main import main\n"
        "r = CliRunner().invoke(main, ['--help'])\n"
        "assert r.exit_code == 0 and 'audit' in r.output, r.output"
    )
    assert loaded_after(help_) == []


def test_the_help_list_says_what_each_command_says_of_itself():
    for name, (target, short_help) in COMMANDS.items():
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert command.get_short_help_str(limit=1000) == short_help, name
