"""Warnings in sentences (app.pages.warning_text): each kind's evidence as the detectors write
it (oversight/warnings/*), sealed and unsealed, said in Chinese with listings by title and
bidders by number — named only when the caller may name them; unknown or malformed evidence as
labelled facts, never as data."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

from app.pages.warning_text import SENTENCES, Context, sentences
from oversight.warnings.review import _sealed

TITLES = {7: "杏田村杏秀路口水泥地面公开招租", 5: "杏田村鱼塘（第一次挂牌）"}
LEDGER = [{"subject": "listing:7", "seq": 12, "type": "registration.closed", "hash": "ab" * 32}]

#: One evidence per kind, as its detector stores it (before sealing).
EVIDENCE: dict[str, dict[str, Any]] = {
    "single_bidder": {
        "qualified": 1,
        "registration_id": 3,
        "bidder_number": "4821",
        "listing_state": "sold",
        "outcome": "agreement",
        "ledger": LEDGER,
    },
    "shared_phone": {
        "phone": "13800001111",
        "bidders": [
            {
                "bidder_id": 11,
                "registration_id": 3,
                "bidder_number": "4821",
                "seen_in": ["account"],
            },
            {
                "bidder_id": 12,
                "registration_id": 4,
                "bidder_number": "5932",
                "seen_in": ["account"],
            },
        ],
    },
    "shared_ip": {
        "ip": "10.0.0.7",
        "bidders": [
            {"bidder_id": 11, "bidder_number": "4821", "seen_in": ["registration", "bid"]},
            {"bidder_id": 12, "bidder_number": None, "seen_in": ["registration"]},
        ],
    },
    "shared_device": {
        "device": "Mozilla/5.0 (iPhone)",
        "bidders": [
            {"bidder_id": 11, "bidder_number": "4821", "seen_in": ["bid"]},
            {"bidder_id": 12, "bidder_number": "5932", "seen_in": ["bid"]},
        ],
    },
    "shared_bank_account": {
        "bank_account": "6222020200112233",
        "bidders": [
            {"bidder_id": 11, "bidder_number": "4821", "seen_in": ["payment"]},
            {"bidder_id": 12, "bidder_number": "5932", "seen_in": ["payment"]},
        ],
    },
    "zero_premium": {
        "deal_kind": "auction",
        "listing_fen": 1_200_000,
        "final_fen": 1_200_000,
        "rounds": 0,
        "winner_number": "4821",
        "ledger": LEDGER,
    },
    "failed_twice": {
        "failures": 2,
        "chain": [
            {
                "listing_id": 7,
                "state": "failed",
                "outcome": "unsold_no_bids",
                "announced_at": "2026-12-01T02:00:00+00:00",
            },
            {"listing_id": 5, "state": "failed", "outcome": "no_bidders", "announced_at": None},
        ],
    },
    "term_too_long": {"category": "land_contract", "term_years": 35, "max_term_years": 30},
    "below_appraisal": {"listing_price_fen": 900_000, "appraisal_fen": 1_200_000, "reason": ""},
    "deep_relist_cut": {
        "listing_price_fen": 600_000,
        "previous_price_fen": 1_200_000,
        "floor_percent": 80,
        "reason": "两次流拍，按评估机构意见调整",
    },
    "contract_unsigned": {
        "decided_at": "2026-12-12T02:00:00+00:00",
        "deadline": "2026-12-26T15:59:59+00:00",
        "deadline_working_days": 10,
        "contract_id": 4,
        "contract_state": "signed_by_village",
    },
    "lease_expiring": {
        "decided_on": "2016-12-12",
        "term_years": 10,
        "lease_ends_on": "2027-01-31",
        "days_left": 45,
        "village": "福建省/泉州市/泉州台商投资区/洛阳镇/杏田村",
        "category": "collective_operating_assets",
        "basis": "合同起租日加租期（尚无合同时按成交日起算）",
    },
    "refund_late": {
        "deposits": [
            {
                "registration_id": 3,
                "amount_fen": 200_000,
                "refund_due_at": "2026-12-20T08:00:00+00:00",
                "days_late": 3,
            }
        ],
        "count": 1,
        "amount_fen": 200_000,
    },
    "arrears_yellow": {
        "items": [
            {
                "contract_id": 4,
                "number": 2,
                "due_date": "2028-02-01",
                "amount_fen": 2_400_000,
                "outstanding_fen": 1_400_000,
                "days_overdue": 35,
            }
        ],
        "count": 1,
        "outstanding_fen": 1_400_000,
        "max_days_overdue": 35,
        "threshold_days": 30,
    },
}
EVIDENCE["arrears_red"] = {**EVIDENCE["arrears_yellow"], "threshold_days": 90}

#: Per kind, words its sentences must say (unsealed, the people named).
SAYS = {
    "single_bidder": ["只有 1 名合格竞买人（竞买号 4821（林一鸣））", "已成交", "协议成交"],
    "shared_phone": ["2 名竞买人使用了同一手机号：竞买号 4821（林一鸣）、竞买号 5932（陈秀兰）。"],
    "shared_ip": ["相同的IP地址：10.0.0.7", "一名尚未取得竞买号的报名人", "见于报名记录、出价记录"],
    "shared_device": ["仅作线索"],
    "shared_bank_account": ["缴纳保证金的银行账户", "见于保证金缴款"],
    "zero_premium": ["成交价 ¥12,000.00 等于挂牌价 ¥12,000.00，溢价率 0.00 %", "网络竞价"],
    "failed_twice": ["连续 2 次挂牌流拍", "2026-12-01 10:00 公告，无人出价，流拍"],
    "term_too_long": ["流转期限 35 年，超过", "最长 30 年的规定"],
    "below_appraisal": ["挂牌价 ¥9,000.00 低于评估价 ¥12,000.00，为评估价的 75.00 %", "未说明理由"],
    "deep_relist_cut": ["为上次挂牌价 ¥12,000.00 的 50.00 %，低于规定的 80 %", "两次流拍"],
    "contract_unsigned": ["合同应于 2026-12-26 23:59 前签订", "村集体已签署，待竞得人签署"],
    "lease_expiring": ["租期将于 2027年1月31日 届满，还有 45 天", "合同起租日加租期"],
    "refund_late": ["1 笔竞买保证金共 ¥2,000.00 逾期未退还", "已逾期 3 天"],
    "arrears_yellow": ["共欠缴 ¥14,000.00", "黄色预警", "第 2 期：应于 2028年2月1日 支付"],
    "arrears_red": ["达到逾期 90 天的红色预警标准"],
}
NAMED = Context(TITLES, {"4821": "林一鸣", "5932": "陈秀兰"}, dossiers=True)


def text(said: list[Markup]) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", str(s)) for s in said)


def test_every_kind_the_detectors_raise_is_written_and_tested() -> None:
    assert set(EVIDENCE) == set(SENTENCES) == set(SAYS)


def test_each_kind_says_its_evidence_in_chinese() -> None:
    for kind, evidence in EVIDENCE.items():
        said = text(sentences(kind, evidence, NAMED))
        for words in SAYS[kind]:
            assert words in said, (kind, words, said)
        assert "{" not in said and "_fen" not in said and "None" not in said, (kind, said)
        assert not re.search(r"[a-z]+_[a-z]+", said), (kind, said)  # no code


def test_the_listing_is_named_by_its_title_and_linked() -> None:
    said = sentences("failed_twice", EVIDENCE["failed_twice"], NAMED)
    assert f'<a href="/oversight/listings/7">{TITLES[7]}</a>' in str(said[1])
    # A listing the reader may not open: by number, no link.
    said = sentences("failed_twice", EVIDENCE["failed_twice"], Context({5: TITLES[5]}))
    assert "编号 7 的项目" in str(said[1]) and "/oversight/listings/7" not in str(said[1])


def test_the_ledger_entry_cited_is_named_in_words() -> None:
    said = text(sentences("zero_premium", EVIDENCE["zero_premium"], NAMED))
    assert "依据：本项目交易日志第 12 条记录（报名截止）" in said


def test_sealed_evidence_names_nobody_and_hides_the_shared_value() -> None:
    sealed = Context(TITLES)  # no names: the auction has not ended
    for kind in ("shared_phone", "shared_ip", "shared_device", "shared_bank_account"):
        said = text(sentences(kind, _sealed(EVIDENCE[kind]), sealed))
        assert "竞价结束前不显示" in said, kind
        for secret in ("林一鸣", "陈秀兰", "13800001111", "10.0.0.7", "iPhone", "6222"):
            assert secret not in said, (kind, secret)
        assert "竞买号 4821" in said


def test_shared_values_are_masked_without_the_dossiers_facet() -> None:
    staff = Context(TITLES, {"4821": "林一鸣"}, dossiers=False)
    assert "138****1111" in text(sentences("shared_phone", EVIDENCE["shared_phone"], staff))
    said = text(sentences("shared_bank_account", EVIDENCE["shared_bank_account"], staff))
    assert "尾号 2233" in said and "6222020200112233" not in said


def test_markup_in_evidence_is_escaped() -> None:
    evidence = {**EVIDENCE["below_appraisal"], "reason": "<script>alert(1)</script>"}
    said = str(sentences("below_appraisal", evidence, NAMED)[1])
    assert "<script>" not in said and "&lt;script&gt;" in said


def test_unknown_kinds_and_odd_evidence_are_said_as_labelled_facts() -> None:
    said = text(
        sentences(
            "price_spike",
            {
                "amount_fen": 1_250_000,
                "due_date": "2027-03-01",
                "listing_state": "sold",
                "weird_code": "xyz_abc",
                "nested": {"a": 1},
                "ledger": LEDGER,
            },
            NAMED,
        )
    )
    assert "金额：¥12,500.00" in said and "应付日期：2027年3月1日" in said
    assert "项目状态：已成交" in said and "另有 2 项记录未在此列出" in said
    assert "xyz_abc" not in said and "{" not in said and "weird_code" not in said
    # The right kind with evidence of another shape: facts, not an error.
    said = text(sentences("zero_premium", {"final_fen": 5}, NAMED))
    assert "成交价：¥0.05" in said
