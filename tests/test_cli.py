"""The CLI front door: --help, --version, python -m hccbayes, every declared command importable, and a command's
parser built alone equal to the full parser's."""
import argparse
import importlib
import subprocess
import sys

import pytest

import hccbayes
from hccbayes.cli import COMMANDS, build_parser, command_of, main


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert hccbayes.__version__ in capsys.readouterr().out


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:  # module names spell a command's hyphens as underscores (ipd_from_km)
        assert name.replace("_", "-") in out


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_module_imports(name):
    module = importlib.import_module(f"hccbayes.commands.{name}")
    assert callable(module.add_parser) and callable(module.run)


def test_python_dash_m():
    proc = subprocess.run([sys.executable, "-m", "hccbayes", "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "usage: hccbayes" in proc.stdout


def test_unknown_command_exits_2():
    proc = subprocess.run([sys.executable, "-m", "hccbayes", "no-such-command"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


# ---- one command's parser alone (issue 19 part 4: `hccbayes explore` starts without the other commands' imports)
def _subcommands(parser) -> dict:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_a_command_parsed_alone_has_the_help_of_the_full_parser():
    """Every command name and alias the full parser registers maps to its module (COMMANDS / OTHER_NAMES), and
    the parser built for that command alone prints the same --help and usage as the full one."""
    full = _subcommands(build_parser())
    assert list(full) == ["init", "validate", "audit", "reconstruct", "fidelity", "ipd-from-km", "run", "reproduce",
                          "report", "sbc", "sensitivity", "explore"]
    for name, sub in full.items():
        module = command_of([name, "--help"])
        assert module is not None, name
        alone = _subcommands(build_parser(module))
        assert name in alone and alone[name].format_help() == sub.format_help(), name
        assert alone[name].format_usage() == sub.format_usage()


@pytest.mark.parametrize("argv,module", [
    (["explore", "RUN"], "explore"), (["-v", "--verbose", "explore"], "explore"), (["fidelity"], "reconstruct"),
    (["ipd-from-km", "--help"], "ipd_from_km"), (["run", "explore"], "run"),
    # everything that can show more than one command builds every parser
    ([], None), (["-h", "explore"], None), (["--help"], None), (["--verb", "explore"], None),
    (["ipd_from_km"], None), (["expl"], None), (["--version"], None),
])
def test_which_command_is_parsed_alone(argv, module):
    assert command_of(argv) == module


def test_main_help_and_errors_name_every_command(capsys):
    """`hccbayes -h explore` and an unknown command still see every command (argparse's own messages)."""
    with pytest.raises(SystemExit):
        main(["-h", "explore"])
    out = capsys.readouterr().out
    assert all(name in out for name in ("init", "fidelity", "ipd-from-km", "sensitivity"))
    with pytest.raises(SystemExit):
        main(["explor"])
    assert "(choose from 'init', 'validate', 'audit', 'reconstruct', 'fidelity'" in capsys.readouterr().err
