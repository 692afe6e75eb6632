"""The deal's documents: content in Chinese with 大写 amounts, deterministic PDF/A bytes,
data that can never act as typst markup, and the glyph check."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from contracts import clauses, content, document
from listings import economics
from listings.schemas import Terms

AT = datetime(2026, 12, 12, 3, 0, tzinfo=UTC)
TERMS: dict[str, Any] = {
    "listing_price_fen": 1_200_000,
    "price_unit": "per_year",
    "term_years": 10,
    "payment": "annual",
    "increment_fen": 24_000,
    "max_steps": 10,
    "deposit_fen": 200_000,
}


TITLE = "杏田村杏秀路口水泥地面公开招租"
DESCRIPTION = "水泥硬化地面，可用于停车、仓储等合法用途。"


def sample_data(
    title: str = TITLE,
    *,
    terms: dict[str, Any] | None = None,
    final_fen: int = 2_400_000,
    description: str = DESCRIPTION,
    lease_start: date = date(2027, 1, 1),
) -> dict[str, Any]:
    return content.contract_data(
        deal=content.DealFacts(7, "auction", 1_200_000, final_fen, 50, AT),
        parties=content.Parties(
            "杏田村",
            "福建省/泉州市/泉州台商投资区/洛阳镇/杏田村",
            "杏田村经办人",
            "竞买人2",
            "resident_id",
            "35052119800101001X",
            "13912345678",
            "4821",
        ),
        asset=content.Asset(
            title,
            "collective_operating_assets",
            "洛阳镇杏田村杏秀路口",
            "600",
            "square_meter",
            description,
        ),
        terms=msgspec.convert(terms or TERMS, Terms),
        deposit_fen=200_000,
        lease_start=lease_start,
        sign_deadline=date(2026, 12, 28),
    )


def pdftotext(pdf: bytes, tmp_path: Path) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return out.stdout.decode("utf-8")


# --- content -----------------------------------------------------------------------------------


def test_reference_case_content_figures_words_and_schedule() -> None:
    data = sample_data()
    assert data["price"] == {
        "unit": "元/年",
        "listing": "12,000.00",
        "listing_words": "壹万贰仟元整",
        "final": "24,000.00",
        "final_words": "贰万肆仟元整",
    }
    assert data["total"] == {"amount": "240,000.00", "words": "贰拾肆万元整"}
    assert data["deal"]["premium_rate"] == "100.00%"
    assert data["income"]["premium_over_term"] == "120,000.00"
    assert data["winner"]["id_masked"] == "350***********001X"
    assert "35052119800101001X" not in json.dumps(data, ensure_ascii=False)
    assert data["term"]["start"] == "2027年1月1日" and data["term"]["end"] == "2036年12月31日"
    schedule = data["schedule"]
    assert [r["no"] for r in schedule] == [str(n) for n in range(1, 11)]
    assert {r["amount"] for r in schedule} == {"24,000.00"}
    assert schedule[0]["due"] == "2027年1月1日" and schedule[9]["due"] == "2036年1月1日"
    assert "实付 22,000.00" in schedule[0]["note"] and schedule[1]["note"] == ""
    assert "第 1 期" in data["deposit"]["text"] and "贰仟元整" in data["deposit"]["text"]
    assert data["escalation"] == "租赁期内租金不递增。"


def test_a_later_deal_of_a_listing_numbers_its_documents_apart() -> None:
    """After a voided deal (its contract kept on record) the runner-up's contract, deal
    confirmation and certificate need numbers of their own; the listing's number stays."""
    first, later = content.numbers(7, AT), content.numbers(7, AT, edition=2)
    assert first == {
        "contract": "NCCQ-HT-2026-000007",
        "confirmation": "NCCQ-CJ-2026-000007",
        "certificate": "NCCQ-JZ-2026-000007",
        "listing": "NCCQ-GP-000007",
    }
    assert later == {
        "contract": "NCCQ-HT-2026-000007-2",
        "confirmation": "NCCQ-CJ-2026-000007-2",
        "certificate": "NCCQ-JZ-2026-000007-2",
        "listing": "NCCQ-GP-000007",
    }
    assert sample_data()["numbers"] == first


def test_escalation_rent_free_and_monthly_schedule_sum_exactly() -> None:
    terms = {
        **TERMS,
        "payment": "monthly",
        "term_years": 6,
        "rent_free_months": 3,
        "escalation": {"every_years": 3, "percent": "2.5"},
    }
    items = content.schedule(msgspec.convert(terms, Terms), 2_400_000, date(2027, 1, 1), 200_000)
    assert len(items) == 72
    assert [i.amount_fen for i in items[:3]] == [0, 0, 0]
    # Month 4 is the first paid one: the deposit covers it and part of month 5.
    assert items[3].credited_fen == 200_000 and items[3].payable_fen == 0
    assert items[4].credited_fen == 0
    assert items[36].amount_fen == 205_000  # 24,000 × 1.025 / 12
    assert items[71].period_end == date(2032, 12, 31)
    data = sample_data(terms=terms)
    assert "递增 2.5%" in data["escalation"] and "3 个月为免租期" in data["rent_free"]
    assert data["schedule"][0]["note"] == "免租期"


def test_dates_and_months() -> None:
    assert economics.add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert content.first_of_next_month(date(2026, 12, 28)) == date(2027, 1, 1)
    assert content.zh_datetime(AT) == "2026年12月12日 11:00:00（北京时间）"


# --- rendering ---------------------------------------------------------------------------------


def test_rendering_is_deterministic_and_pdfa() -> None:
    data = sample_data()
    first = document.render("contract", data, at=AT)
    # Key order does not matter (a JSONB column does not keep it).
    shuffled = json.loads(json.dumps(data, sort_keys=True))
    again = document.render("contract", dict(reversed(list(shuffled.items()))), at=AT)
    assert first.pdf == again.pdf
    assert first.pdf.startswith(b"%PDF-")
    assert b"pdfaid:part" in first.pdf  # PDF/A identification in the XMP metadata
    assert b"NotoSerifCJK" in first.pdf or b"WenQuanYi" in first.pdf
    later = document.render("contract", data, at=datetime(2027, 1, 1, tzinfo=UTC))
    assert later.pdf != first.pdf
    assert set(first.boxes) == {"village", "winner"}
    village, winner = first.boxes["village"], first.boxes["winner"]
    assert village.page == winner.page and village.box[2] < winner.box[0]
    for kind in ("confirmation",):
        one = document.render(kind, data, at=AT).pdf
        assert one == document.render(kind, data, at=AT).pdf


@pytest.mark.parametrize(
    "title",
    [
        '#import "x": *',
        "] *bold* [",
        '#eval("1 + 1") $x^2$ <label> @ref // not a comment',
        '"); #panic("boom") #("',
    ],
)
def test_data_is_never_markup(title: str, tmp_path: Path) -> None:
    benign = document.render("contract", sample_data("普通标题"), at=AT)
    hostile = document.render("contract", sample_data(title, description=title), at=AT)
    assert hostile.pdf.startswith(b"%PDF-")
    # The title is an ordinary text element holding exactly the string given...
    assert document.query("contract", sample_data(title), "<asset-title>", "text") == title
    # ...and the markup in it made nothing: no extra strong/emphasis/equation elements.
    for selector in ("strong", "emph", "math.equation"):
        assert document.count(
            "contract", sample_data(title, description=title), selector
        ) == document.count("contract", sample_data("普通标题"), selector)
    text = pdftotext(hostile.pdf, tmp_path)
    if text is not None:
        flat = "".join(text.split())
        assert "".join(title.split()) in flat
        assert benign.pdf != hostile.pdf


def test_missing_glyph_is_an_error_naming_the_font() -> None:
    with pytest.raises(document.GlyphMissing) as caught:
        document.render("contract", sample_data("杏田村 😀 停车场"), at=AT)
    assert "😀" in caught.value.chars
    assert document.fonts().body in str(caught.value) or "CJK" in str(caught.value)
    assert "U+1F600" in str(caught.value)
    with pytest.raises(document.GlyphMissing, match="U\\+E000"):  # private use: no glyph
        document.render("contract", sample_data("杏田村\ue000"), at=AT)


def test_every_character_of_the_reference_documents_is_covered() -> None:
    fonts = document.fonts()
    for kind in document.KINDS:
        document.check_glyphs([document.template_text(kind)], fonts)
    document.check_glyphs(content.strings_of(sample_data()), fonts)


def test_no_cjk_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(document, "FONT_CHOICES", (("No Such Font SC", "No Such Font SC"),))
    document.fonts.cache_clear()
    try:
        with pytest.raises(document.FontMissing, match=r"No Such Font SC.*fonts-noto-cjk"):
            document.fonts()
    finally:
        monkeypatch.undo()
        document.fonts.cache_clear()


def test_the_dispute_clause_follows_the_asset_category() -> None:
    # A building lease is no land-contracting dispute: the court, or the exchange's commission.
    assert clauses.dispute_clause("collective_operating_assets").endswith("人民法院提起诉讼。")
    named = clauses.dispute_clause("collective_operating_assets", "泉州仲裁委员会")
    assert "提交泉州仲裁委员会按其仲裁规则仲裁" in named and "农村土地承包" not in named
    for land in ("land_management_rights", "forest_rights", "wasteland", "aquaculture_water"):
        assert "农村土地承包仲裁委员会" in clauses.dispute_clause(land, "泉州仲裁委员会")
    # The sample is a concrete ground (collective operating asset): no land arbitration.
    assert "农村土地承包" not in sample_data()["dispute"]


def test_the_exchange_is_named_as_its_settings_say() -> None:
    exchange = content.Exchange(
        "泉州台商投资区农村产权交易中心", "洛阳镇政府大楼", "泉州仲裁委员会"
    )
    data = content.contract_data(
        deal=content.DealFacts(7, "auction", 1_200_000, 2_400_000, 50, AT),
        parties=content.Parties(
            "杏田村", "福建省/泉州市", "经办人", "竞买人2", "resident_id", None, None, "4821"
        ),
        asset=content.Asset(
            TITLE, "collective_operating_assets", "杏秀路口", "600", "square_meter", ""
        ),
        terms=msgspec.convert(TERMS, Terms),
        deposit_fen=0,
        lease_start=date(2027, 1, 1),
        sign_deadline=date(2026, 12, 28),
        exchange=exchange,
    )
    assert data["exchange"]["name"] == "泉州台商投资区农村产权交易中心"
    assert data["exchange"]["address"] == "洛阳镇政府大楼"
    assert "泉州仲裁委员会" in data["dispute"]
    rendered = document.render("contract", data, at=AT)
    assert rendered.pdf.startswith(b"%PDF")


# --- a lease start fixed at listing, a performance deposit ------------------------------------

#: Quarterly rent rising 10 % a year, two years from 15 March 2027, 5,000 yuan 履约保证金.
FIXED: dict[str, Any] = {
    **TERMS,
    "term_years": 2,
    "payment": "quarterly",
    "escalation": {"every_years": 1, "percent": 10},
    "lease_start": "2027-03-15",
    "performance_deposit_fen": 500_000,
}


def test_the_lease_starts_on_the_fixed_day_or_the_month_after_the_signing_deadline() -> None:
    fixed = msgspec.convert(FIXED, Terms)
    assert content.lease_start_of(fixed, date(2026, 12, 28)) == date(2027, 3, 15)
    # Kept as agreed even where signing runs past it: the announced terms bind.
    assert content.lease_start_of(fixed, date(2027, 4, 2)) == date(2027, 3, 15)
    plain = msgspec.convert(TERMS, Terms)
    assert content.lease_start_of(plain, date(2026, 12, 28)) == date(2027, 1, 1)
    assert content.lease_start_of(plain, date(2027, 1, 31)) == date(2027, 2, 1)


def test_a_fixed_start_sets_the_schedules_years_and_the_term() -> None:
    data = sample_data(terms=FIXED, lease_start=date(2027, 3, 15))
    assert (data["term"]["start"], data["term"]["end"]) == ("2027年3月15日", "2029年3月14日")
    assert data["term"]["basis"] == clauses.FIXED_START_BASIS
    rows = data["schedule"]
    assert [r["period"] for r in rows[:2]] == [
        "2027年3月15日至2027年6月14日",
        "2027年6月15日至2027年9月14日",
    ]
    # The second lease year, at 10 % more, starts on 15 March 2028, not on a 1 January.
    assert [r["amount"] for r in rows] == ["6,000.00"] * 4 + ["6,600.00"] * 4
    assert rows[4]["period"] == "2028年3月15日至2028年6月14日"
    assert rows[4]["due"] == "2028年3月15日"
    assert rows[7]["period"] == "2028年12月15日至2029年3月14日"
    assert data["total"]["amount"] == "50,400.00"
    items = content.schedule(msgspec.convert(FIXED, Terms), 2_400_000, date(2027, 3, 15), 200_000)
    assert items[0].due_date == date(2027, 3, 15) and items[-1].period_end == date(2029, 3, 14)
    # A start without a fixed day says nothing of it.
    assert sample_data()["term"]["basis"] is None


def test_the_performance_deposit_is_a_clause_of_its_own_and_never_pays_rent() -> None:
    data = sample_data(terms=FIXED, lease_start=date(2027, 3, 15))
    performance = data["performance_deposit"]
    assert performance["amount"] == "5,000.00" and performance["words"] == "伍仟元整"
    assert performance["days"] == str(clauses.PERFORMANCE_DEPOSIT_DAYS) == "10"
    assert performance["text"] == (
        "乙方应于本合同签订之日起 10 日内向甲方交纳履约保证金人民币 5,000.00 元"
        "（大写：伍仟元整）。履约保证金与竞买保证金分别计算，不抵作租金；"
        "合同期满乙方无违约的，甲方无息退还。"
    )
    # The bid deposit alone is credited: 2,000 of the first quarter's 6,000.
    assert "实付 4,000.00" in data["schedule"][0]["note"]
    assert all(r["note"] == "" for r in data["schedule"][1:])
    without = sample_data(
        terms={k: v for k, v in FIXED.items() if k != "performance_deposit_fen"},
        lease_start=date(2027, 3, 15),
    )
    assert without["performance_deposit"] is None
    assert without["schedule"] == data["schedule"] and without["deposit"] == data["deposit"]


def test_the_new_clauses_are_printed(tmp_path: Path) -> None:
    data = sample_data(terms=FIXED, lease_start=date(2027, 3, 15))
    document.check_glyphs(content.strings_of(data), document.fonts())
    contract = document.render("contract", data, at=AT).pdf
    confirmation = document.render("confirmation", data, at=AT).pdf
    assert contract != document.render("contract", sample_data(), at=AT).pdf
    text = pdftotext(contract, tmp_path)
    if text is not None:
        flat = "".join(text.split())
        assert "".join(data["performance_deposit"]["text"].split()) in flat
        assert "".join(clauses.FIXED_START_BASIS.split()) in flat
        assert "2027年3月15日起至2029年3月14日止" in flat
        assert "履约保证金" in "".join((pdftotext(confirmation, tmp_path) or "").split())


def test_documents_drafted_before_version_3_render_as_they_did() -> None:
    """Data without the keys version 3 added (a lease start fixed, a performance deposit) gets
    the same bytes as data holding them empty: the templates' `.at(…, default: none)`."""
    current = sample_data()
    assert current["version"] == content.TEMPLATE_VERSION == "4"
    older = json.loads(json.dumps(current))
    del older["performance_deposit"], older["term"]["basis"]
    older["version"] = "2"
    for kind in ("contract", "confirmation"):
        assert document.render(kind, older, at=AT).pdf == document.render(kind, current, at=AT).pdf
