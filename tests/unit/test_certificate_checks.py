"""The transaction certificate says what was checked and claims no more (contracts.attestation):
the collective's decision is said to be recorded only with the resolution's facts and its
document on file; contracts drafted before the entrustment was kept still render."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts import attestation, content, document
from listings.schemas import Resolution
from tests.unit.test_contract_documents import sample_data

AT = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)
FACTS = Resolution(
    meeting_kind="representatives_meeting",
    meeting_date=date(2026, 11, 10),
    entitled=30,
    present=27,
    votes_for=25,
    votes_against=1,
    abstentions=1,
    publicity_start=date(2026, 11, 11),
    publicity_end=date(2026, 11, 17),
)
SENTENCE = (
    "2026年11月10日村民代表会议，应到30人，实到27人，同意25票，反对1票，弃权1票；"
    "决议公示期2026年11月11日至2026年11月17日"
)
SIGNATURES = [
    {
        "role": "甲方（村集体）",
        "signer": "杏田村经办人",
        "at": "2026年12月15日 10:00:00（北京时间）",
    },
    {"role": "乙方（竞得人）", "signer": "竞买人2", "at": "2026年12月15日 12:00:00（北京时间）"},
]


def certificate(entrustment: content.Entrustment | None) -> dict[str, Any]:
    contract = sample_data()
    contract["entrustment"] = content.entrustment_data(entrustment or content.Entrustment())
    return attestation.certificate_data(
        contract, contract_sha256="ab" * 32, signatures=SIGNATURES, certified_at=AT
    )


def text_of(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text in content order (a table's cells one after the other), unspaced."""
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return "".join(out.stdout.decode("utf-8").split())


def checks_of(data: dict[str, Any]) -> dict[str, str]:
    return {c["item"]: c["result"] for c in data["certificate"]["checks"]}


def test_the_contract_keeps_the_entrustment_as_accepted() -> None:
    kept = content.entrustment_data(
        content.Entrustment(FACTS, ("village_resolution", "ownership_proof", "village_resolution"))
    )
    assert kept == {
        "documents": "村民（代表）会议决议（四议两公开） 2 份、权属证明 1 份",
        "resolution": SENTENCE,
        "resolution_documents": "2",
    }
    assert content.entrustment_data(content.Entrustment()) == {
        "documents": "",
        "resolution": "",
        "resolution_documents": "0",
    }


def test_a_checked_resolution_is_stated_with_its_facts() -> None:
    data = certificate(content.Entrustment(FACTS, ("village_resolution",)))
    checks = checks_of(data)
    assert (
        checks["村集体决议"] == f"{SENTENCE}；到会人数和表决结果符合法定要求，决议文件已随委托提交"
    )
    assert "村民（代表）会议决议（四议两公开） 1 份" in checks["委托"]
    assert "网络竞价程序" in checks["交易程序"]
    assert data["certificate"]["conclusion"].startswith("村集体经济组织的民主决策情况已记录在案")


@pytest.mark.parametrize(
    ("entrustment", "decision"),
    [
        (content.Entrustment(FACTS, ()), f"委托方填报{SENTENCE}；未提交决议文件"),
        (
            content.Entrustment(None, ("village_resolution",)),
            "已提交决议文件 1 份，未填报会议日期和表决结果",
        ),
        (content.Entrustment(None, ("ownership_proof",)), "未提交"),
        (None, "未提交"),
    ],
)
def test_without_both_facts_and_document_no_finding_on_the_decision(
    entrustment: content.Entrustment | None, decision: str
) -> None:
    data = certificate(entrustment)
    assert checks_of(data)["村集体决议"] == decision
    conclusion = data["certificate"]["conclusion"]
    assert "不对村集体经济组织的决策程序作出认定" in conclusion
    assert "记录在案" not in conclusion


def test_a_contract_drafted_before_the_entrustment_was_kept_says_so() -> None:
    old = sample_data()
    del old["entrustment"]
    old["version"] = "2"
    data = attestation.certificate_data(
        old, contract_sha256="ab" * 32, signatures=SIGNATURES, certified_at=AT
    )
    checks = checks_of(data)
    assert checks["村集体决议"] == "合同起草时未记录"
    assert checks["委托"].endswith("提交材料：合同起草时未记录")
    assert "不对村集体经济组织的决策程序作出认定" in data["certificate"]["conclusion"]
    assert document.render("certificate", data, at=AT).pdf.startswith(b"%PDF-")


def test_the_certificate_prints_the_checks_and_never_the_blanket_claim(tmp_path: Path) -> None:
    checked = document.render(
        "certificate", certificate(content.Entrustment(FACTS, ("village_resolution",))), at=AT
    )
    unchecked = document.render("certificate", certificate(None), at=AT)
    assert "程序合法" not in document.template_text("certificate")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    flat = text_of(checked.pdf, tmp_path)
    assert "".join(SENTENCE.split()) in flat
    assert "民主决策情况已记录在案" in flat and "程序合法" not in flat
    other = text_of(unchecked.pdf, tmp_path)
    assert "村集体决议未提交" in other and "不对村集体经济组织的决策程序作出认定" in other


DECIDED = datetime(2026, 12, 12, 1, 5, tzinfo=UTC)  # Saturday 12 December, 09:05 in Beijing
ENDS = datetime(2026, 12, 18, 16, 0, tzinfo=UTC)  # 24:00 on Friday 18 December


def test_the_certificate_states_the_result_publicity_and_its_objections(tmp_path: Path) -> None:
    period = "自2026年12月12日起公示，至2026年12月18日期满"
    quiet = attestation.Publicity(DECIDED, ENDS)
    assert attestation.publicity_check(quiet) == period + "，公示期内无异议"
    disputed = attestation.Publicity(DECIDED, ENDS, upheld=1, dismissed=2)
    assert attestation.publicity_check(disputed) == (
        period + "；收到异议 3 件，异议成立 1 件（原成交已撤销），经审查不成立 2 件"
    )
    assert attestation.publicity_check(attestation.Publicity(DECIDED, DECIDED)) == (
        "本项目未设成交公示期"
    )
    assert attestation.publicity_check(attestation.Publicity(DECIDED, None)) == (
        "成交时未记录成交公示"
    )
    data = attestation.certificate_data(
        sample_data(),
        contract_sha256="ab" * 32,
        signatures=SIGNATURES,
        certified_at=AT,
        publicity=quiet,
    )
    assert checks_of(data)["成交公示"] == period + "，公示期内无异议"
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    flat = text_of(document.render("certificate", data, at=AT).pdf, tmp_path)
    assert "".join(period.split()) in flat


def test_the_seal_reads_as_the_exchange_set_it(tmp_path: Path) -> None:
    sealed = sample_data()
    sealed["exchange"]["seal"] = "泉州台商投资区农村产权交易中心交易鉴证专用章"
    data = attestation.certificate_data(
        sealed, contract_sha256="ab" * 32, signatures=SIGNATURES, certified_at=AT
    )
    plain = sample_data()
    plain["exchange"].pop("seal", None)  # data drafted before the seal was a setting
    old = attestation.certificate_data(
        plain, contract_sha256="ab" * 32, signatures=SIGNATURES, certified_at=AT
    )
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    assert "交易鉴证专用章" in text_of(document.render("certificate", data, at=AT).pdf, tmp_path)
    name = plain["exchange"]["name"]
    assert f"{name}（电子签章）" in text_of(
        document.render("certificate", old, at=AT).pdf, tmp_path
    )
