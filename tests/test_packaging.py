"""Packaging: a regular (non-editable) install must contain every subpackage. The editable install the
README uses finds subpackages on disk, so a package missing from pyproject's list would only break a
wheel install (hccbayes.commands was missing until this test)."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_python_package_is_listed_in_pyproject():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(conf["packages"])
    found = set()
    for package, folder in conf["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]))
    assert found - listed == set()
    assert {"hccbayes.commands", "hccbayes.reports"} <= found
