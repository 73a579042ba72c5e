"""Comparisons of proportions declared in published.toml ([comparisons]): parsed and validated with the file,
key and fix; read generically (a study with other names, tables and groups gets its own comparisons); a plan
may only name declared ones."""
from __future__ import annotations

import pytest

from hccbayes.data.published.registry import parse_registry
from hccbayes.errors import PlanError, RegistryError
from hccbayes.inference.engine.links import required_entries
from hccbayes.inference.engine.plan import load_plan
from hccbayes.models.response.counts import rates_from_registry


def raw_registry(**comparisons) -> dict:
    """A two-arm trial with neutral names: a response table with counts, an adverse-event table, and
    response percentages by a marker in the text (only the marker-high group's size is printed)."""
    return {
        "registry": {"study": "demo"},
        "populations": {"all": {"n": 50}, "arm:A": {"n": 20, "parent": "all"}, "arm:B": {"n": 30, "parent": "all"},
                        "mk:low": {"parent": "all"}, "mk:high": {"parent": "all"}},
        "partitions": {"arm": {"whole": "all", "parts": ["arm:A", "arm:B"]},
                       "mk": {"whole": "all", "parts": ["mk:low", "mk:high"]}},
        "tables": {
            "resp": {"title": "Table R", "measure": "best_response",
                     "columns": {"a": {"population": "arm:A"}, "b": {"population": "arm:B"},
                                 "p": {"kind": "p", "population": "all"}},
                     "rows": [{"id": "orr", "kind": "count", "variable": "best_response", "level": "ORR",
                               "cells": {"a": "5 (25.0)", "b": "12 (40.0)", "p": "0.28"}},
                              {"id": "dcr", "kind": "count", "variable": "best_response", "level": "DCR",
                               "cells": {"a": "10 (50.0)", "b": "21 (70.0)"}}]},
            "tox": {"title": "Table T", "measure": "adverse_event",
                    "columns": {"a": {"kind": "count", "population": "arm:A", "grade": "any"},
                                "b": {"kind": "count", "population": "arm:B", "grade": "any"}},
                    "rows": [{"id": "rash", "outcome": "rash", "cells": {"a": "2 (10.0)", "b": "9 (30.0)"}}]},
        },
        "text": [
            {"id": "mk.high.a", "kind": "count", "value": "8", "measure": "mk", "variable": "mk", "level": "high",
             "population": "arm:A"},
            {"id": "mk.high.b", "kind": "count", "value": "12", "measure": "mk", "variable": "mk", "level": "high",
             "population": "arm:B"},
            {"id": "orr.low", "kind": "percent", "value": "20.0", "variable": "best_response", "level": "ORR",
             "population": "mk:low"},
            {"id": "orr.high", "kind": "percent", "value": "45.0", "variable": "best_response", "level": "ORR",
             "population": "mk:high"},
        ],
        "comparisons": comparisons,
    }


DECLARED = {
    "response": {"outcome": "best_response", "groups": ["arm:A", "arm:B"], "table": "resp",
                 "where": {"variable": "best_response"}},
    "toxicity": {"outcome": "adverse_event", "groups": ["arm:A", "arm:B"], "table": "tox"},
    "by_marker": {"outcome": "best_response", "groups": ["mk:low", "mk:high"], "table": "text", "entries": "percent"},
}


def test_declared_comparisons_are_read_with_any_names():
    reg = parse_registry(raw_registry(**DECLARED))
    rates = {(r.analysis, r.endpoint): r for r in rates_from_registry(reg)}
    assert list(rates) == [("response", "best_response:ORR"), ("response", "best_response:DCR"),
                           ("toxicity", "ae:rash:any"), ("by_marker", "best_response:ORR")]
    orr = rates[("response", "best_response:ORR")]
    assert orr.counts == {"arm:A": (5, 20), "arm:B": (12, 30)} and orr.published_p == 0.28
    assert rates[("response", "best_response:DCR")].published_p is None  # no p printed for that row
    # only percentages: mk:high = 8 + 12 = 20 (its counts over the arm partition), mk:low = 50 - 20 = 30;
    # 20.0% of 30 = 6, 45.0% of 20 = 9 (integers: exact)
    marker = rates[("by_marker", "best_response:ORR")]
    assert marker.counts == {"mk:low": (6, 30), "mk:high": (9, 20)}
    assert "n = 20 from 8 (text.mk.high.a) + 12 (text.mk.high.b)" in marker.note
    assert rates_from_registry(reg, ["toxicity"]) == [rates[("toxicity", "ae:rash:any")]]
    # every cell of a declared comparison must be reproduced by a response analysis; p entries need not be
    need = {k for k, v in required_entries(reg).items() if v == "response"}
    assert need == {"resp.orr.a", "resp.orr.b", "resp.dcr.a", "resp.dcr.b", "tox.rash.a", "tox.rash.b",
                    "text.orr.low", "text.orr.high"}


def test_a_registry_without_declarations_has_no_comparisons():
    assert rates_from_registry(parse_registry(raw_registry())) == []


@pytest.mark.parametrize("change,message", [
    ({"outcome": "survival"}, "outcome: 'survival' is not an outcome kind"),
    ({"groups": ["arm:A"]}, "is not two population names"),
    ({"groups": ["arm:A", "arm:C"]}, "unknown population 'arm:C'"),
    ({"table": "t9"}, "table: 't9' is not a table of this file"),
    ({"entries": "median"}, "entries: 'median' is not an entry kind"),
    ({"where": "best_response"}, "where: must be a table"),
    ({"group": ["arm:A", "arm:B"]}, "group: unknown key"),
])
def test_bad_declarations_name_the_file_key_and_fix(change, message):
    spec = {**DECLARED["response"], **change}
    with pytest.raises(RegistryError) as err:
        parse_registry(raw_registry(response=spec), "demo/published.toml")
    text = str(err.value)
    assert "demo/published.toml" in text and "[comparisons.response]" in text and message in text
    assert "fix" in text


def _plan(tmp_path, study: str, body: str):
    path = tmp_path / "plan.toml"
    path.write_text(f'[plan]\nname = "p"\nstudy = "{study}"\nseed = 1\n\n{body}', encoding="utf-8")
    return path


def test_a_plan_names_only_declared_comparisons_and_tables(tmp_path):
    with pytest.raises(PlanError, match="unknown comparison 'table3'.*best_response"):
        load_plan(_plan(tmp_path, "yin2025", '[[analyses]]\nid = "r"\nkind = "response"\ncomparisons = ["table3"]\n'))
    with pytest.raises(PlanError, match="table 't3' holds no published Cox HR"):
        load_plan(_plan(tmp_path, "yin2025", '[[analyses]]\nid = "s"\nkind = "summary"\ntables = ["t3"]\n'))
    plan = load_plan(_plan(tmp_path, "yin2025", '[[analyses]]\nid = "r"\nkind = "response"\n'))
    assert plan.analyses[0].comparisons == ()  # default: every declared comparison


def test_a_study_without_declarations_cannot_ask_for_response_analyses(tmp_path):
    with pytest.raises(PlanError, match="declares no comparisons of proportions.*published.toml"):
        load_plan(_plan(tmp_path, "colon", '[[analyses]]\nid = "r"\nkind = "response"\n'))
