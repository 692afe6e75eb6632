"""Every code a person can meet on the regulator's pages has Chinese words: each ledger entry
type the code base writes, each reason a bid or a pause is refused, each warning kind (with
its severity and its sentence), each payment refusal. The codes are gathered from the source
itself (the calls that write ledger entries and raise findings) and from the enums and unions
they are built from, so a new one written without a label fails here."""

from __future__ import annotations

import ast
import typing
from collections.abc import Iterator
from pathlib import Path

from app.pages.labels import BID_REJECTIONS_ZH, LEDGER_TYPES_ZH, TIMELINE_PHASES, phase_of_entry
from app.pages.warning_text import SENTENCES
from auction.book import BidBook
from auction.codes import MESSAGES_ZH, Code
from auction.frames import EventFrame, kind
from contracts.rent import PROBLEMS as RENT_PROBLEMS
from listings.payments import PAYMENT_PROBLEMS_ZH as DEPOSIT_PROBLEMS
from listings.registration import RegState
from listings.rules import Action, ListingState, transition
from oversight.warnings.bidders import SHARED_KINDS
from oversight.warnings.findings import KIND_NAMES_ZH, SEVERITY, SEVERITY_NAMES_ZH

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "listings", "auction", "contracts", "oversight", "app")

#: The calls that write a ledger entry: the argument holding its type (position, or keyword).
WRITERS = {"record": 2, "_record": 2, "record_registration": 2, "append": "type"}
#: Types built at run time, by their source text: what they can be, from the enums and unions
#: they are built from. A new f-string type must be added here (the test says so).
_CONTROL = typing.get_args(typing.get_type_hints(BidBook.control)["command"])
DYNAMIC_TYPES = {
    "f'listing.{listing.state}'": {
        f"listing.{transition(ListingState.SUBMITTED, a).value}"
        for a in (Action.ACCEPT, Action.RETURN)
    },
    "f'registration.{registration.state}'": {
        f"registration.{s}" for s in (RegState.QUALIFIED, RegState.REJECTED)
    },
    "f'auction.{kind(frame)}'": {f"auction.{kind(f)}" for f in typing.get_args(EventFrame)},
    "f\"auction.{type(command).__name__.lower()}{('_rejected' if code else '')}\"": {
        f"auction.{c.__name__.lower()}{suffix}" for c in _CONTROL for suffix in ("", "_rejected")
    },
}


def _sources() -> Iterator[tuple[Path, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _parameters(tree: ast.Module) -> dict[ast.AST, set[str]]:
    """Each node's enclosing function's parameter names (a pass-through writer's `type_`)."""
    out: dict[ast.AST, set[str]] = {}
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            names = {a.arg for a in [*fn.args.args, *fn.args.kwonlyargs, *fn.args.posonlyargs]}
            for node in ast.walk(fn):
                out[node] = names  # the innermost function wins: walked after its parents
    return out


def _values(node: ast.expr, where: str, passed: set[str], dynamic: dict[str, set[str]]) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _values(node.body, where, passed, dynamic) | _values(
            node.orelse, where, passed, dynamic
        )
    if isinstance(node, ast.Name) and node.id in passed:
        return set()  # a helper passing its caller's type on: the caller is read instead
    source = ast.unparse(node)
    assert source in dynamic, f"{where}: a code built as {source}; say what it can be in this test"
    return dynamic[source]


def _reading_record(path: Path, tree: ast.Module, func: ast.expr) -> bool:
    """Whether a call of `record` is listings.reading.record (the listing's chain)."""
    if isinstance(func, ast.Attribute):
        return isinstance(func.value, ast.Name) and func.value.id == "reading"
    if path == ROOT / "listings/reading.py":
        return True
    return any(
        isinstance(n, ast.ImportFrom)
        and n.module == "listings.reading"
        and any(a.name == "record" and a.asname is None for a in n.names)
        for n in tree.body
    )


def ledger_types() -> set[str]:
    """Every ledger entry type the code base writes."""
    found: set[str] = set()
    for path, tree in _sources():
        if path.is_relative_to(ROOT / "core/ledger"):
            continue  # the log's machinery: it writes whatever type it is given
        params = _parameters(tree)
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name == "record" and not _reading_record(path, tree, func):
                    continue  # another `record` (the auction's frames), not the log's
                spot = WRITERS.get(name or "")
                arg: ast.expr | None = None
                if isinstance(spot, int) and len(node.args) > spot:
                    arg = node.args[spot]
                elif spot is not None:
                    arg = next((k.value for k in node.keywords if k.arg == "type"), None)
                if arg is not None:
                    found |= _values(arg, where, params.get(node, set()), DYNAMIC_TYPES)
            # append_many's items: ("warning.raised", {...}) pairs
            if (
                isinstance(node, ast.Tuple)
                and len(node.elts) == 2
                and isinstance(node.elts[0], ast.Constant)
                and isinstance(node.elts[0].value, str)
                and isinstance(node.elts[1], ast.Dict)
                and "." in node.elts[0].value
            ):
                found.add(node.elts[0].value)
    return found


def warning_kinds() -> set[str]:
    """Every kind a detector raises: Finding(kind, …) and cited(session, kind, …)."""
    shared = set(SHARED_KINDS)  # the attributes two bidders may be seen to share
    receivables = ast.parse((ROOT / "contracts/receivables.py").read_text(encoding="utf-8"))
    levels = {
        r.value.value
        for fn in ast.walk(receivables)
        if isinstance(fn, ast.FunctionDef) and fn.name == "arrears_level"
        for r in ast.walk(fn)
        if isinstance(r, ast.Return) and isinstance(r.value, ast.Constant) and r.value.value
    }
    dynamic = {
        "f'shared_{kind}'": {f"shared_{k}" for k in shared},
        "f'arrears_{level}'": {f"arrears_{level}" for level in levels},
    }
    found: set[str] = set()
    for path, tree in _sources():
        if "oversight/warnings" not in path.as_posix():
            continue
        params = _parameters(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            spot = {"Finding": 0, "cited": 1}.get(node.func.id)
            if spot is not None and len(node.args) > spot:
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found |= _values(node.args[spot], where, params.get(node, set()), dynamic)
    return found


def test_the_collectors_find_what_is_known_to_be_written() -> None:
    types = ledger_types()
    for known in ("listing.accepted", "auction.bid", "auction.pause_rejected", "bid.rejected"):
        assert known in types, known
    assert {"warning.raised", "warning.acknowledged", "deposit.paid"} <= types
    assert {"shared_ip", "arrears_red", "single_bidder", "below_appraisal"} <= warning_kinds()


def test_every_ledger_entry_type_has_a_chinese_name_and_a_phase() -> None:
    missing = sorted(t for t in ledger_types() | {"auction.bids"} if not LEDGER_TYPES_ZH.get(t))
    assert not missing, f"ledger types without a Chinese name: {missing}"
    for entry_type in LEDGER_TYPES_ZH:
        assert phase_of_entry(entry_type) in TIMELINE_PHASES, entry_type


def test_every_refusal_code_has_chinese_words() -> None:
    for code in Code:
        assert MESSAGES_ZH.get(code), code
        assert BID_REJECTIONS_ZH.get(code.value), code
    for problems in (RENT_PROBLEMS, DEPOSIT_PROBLEMS):
        assert all(problems.values())


def test_every_warning_kind_has_a_name_a_severity_and_a_sentence() -> None:
    kinds = warning_kinds()
    assert kinds == set(KIND_NAMES_ZH), kinds ^ set(KIND_NAMES_ZH)
    for k in kinds:
        assert SEVERITY_NAMES_ZH.get(SEVERITY[k]), k
        assert k in SENTENCES, f"no sentence for warning kind {k}"
