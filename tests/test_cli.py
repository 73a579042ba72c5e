"""The CLI front door: --help, --version, python -m hccbayes, and every declared command importable."""
import importlib
import subprocess
import sys

import pytest

import hccbayes
from hccbayes.cli import COMMANDS, main


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
    proc = subprocess.run([sys.executable, "-m", "hccbayes", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "usage: hccbayes" in proc.stdout


def test_unknown_command_exits_2():
    proc = subprocess.run([sys.executable, "-m", "hccbayes", "no-such-command"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
