"""Two-party PAdES signing and its verification: a valid contract, and the ways to break it
(a tampered byte, a removed signature, content changed in an incremental update, another
root, a revoked certificate) — with the project's command and pyHanko's own CLI."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError

from app import cli
from contracts import ca, document, signing
from contracts.verify import load_trust_roots, verify_pdf
from tests.unit.test_contract_documents import sample_data

# --- tampering (also used by the integration reference case) -----------------------------------


def tamper_byte(pdf: bytes) -> bytes:
    """Flip one byte inside the first page's content stream (covered by every signature)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    contents = reader.root["/Pages"]["/Kids"][0]["/Contents"]
    stream = contents[0] if isinstance(contents, generic.ArrayObject) else contents
    raw = stream.get_object().encoded_data
    at = pdf.index(raw) + len(raw) // 2
    out = bytearray(pdf)
    out[at] ^= 0x20
    return bytes(out)


def remove_signature(pdf: bytes, field: str = signing.WINNER_FIELD) -> bytes:
    """An incremental update that takes the signature value out of a signed field."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for ref in writer.root["/AcroForm"]["/Fields"]:
        value = ref.get_object()
        if value.get("/T") == field:
            del value["/V"]
            writer.mark_update(ref)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def change_content(pdf: bytes) -> bytes:
    """An incremental update that draws new text on page 1 after signing."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    extra = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 400 Td (RENT WAIVED) Tj ET")
    )
    contents = page.raw_get("/Contents")
    page["/Contents"] = generic.ArrayObject(
        [*(contents if isinstance(contents, generic.ArrayObject) else [contents]), extra]
    )
    writer.mark_update(page_ref)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def village_revision(pdf: bytes) -> bytes:
    """The file as it was after the village signed (the winner's signature cut off)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    village = next(s for s in reader.embedded_signatures if s.field_name == signing.VILLAGE_FIELD)
    end = village.byte_range[2] + village.byte_range[3]
    return pdf[:end]


# --- a signed contract ---------------------------------------------------------------------------


@dataclass
class Signed:
    authority: ca.Authority
    root_pem: Path
    unsigned: bytes
    after_village: bytes
    signed: bytes
    at: datetime


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    # Wall-clock time, so that pyHanko's CLI (which validates "now") agrees.
    at = datetime.now(UTC).replace(microsecond=0)
    directory = tmp_path_factory.mktemp("ca")
    authority = ca.open_authority(directory, "unit-secret", at)
    crls = authority.crls([], at)
    rendered = document.render("contract", sample_data(), at=at)
    village = authority.issue_person(
        name="杏田村经办人", masked_id="UID-1", now=at, organisation="杏田村集体经济组织"
    )
    winner = authority.issue_person(name="竞买人2", masked_id="350***********001X", now=at)
    trust = signing.Trust(authority, crls, at)
    after_village = signing.sign_as_village(
        rendered.pdf,
        rendered.boxes,
        trust,
        signing.Credentials(village.certificate, village.key),
        reason="甲方签署",
    )
    signed = signing.sign_as_winner(
        after_village,
        trust,
        signing.Credentials(winner.certificate, winner.key),
        reason="乙方签署",
    )
    root_pem = directory / "root.pem"
    root_pem.write_bytes(authority.root_pem())
    return Signed(authority, root_pem, rendered.pdf, after_village, signed, at)


def report(data: bytes, root: Path) -> dict:  # type: ignore[type-arg]
    return verify_pdf(data, load_trust_roots(root.read_bytes()))


def test_both_signatures_and_the_document_timestamp_verify(signed: Signed) -> None:
    result = report(signed.signed, signed.root_pem)
    assert result["valid"] and result["complete"], json.dumps(result, ensure_ascii=False)
    village, winner, stamp = result["signatures"]
    assert (village["field"], village["signer"], village["signer_serial_number"]) == (
        "Village",
        "杏田村经办人",
        "UID-1",
    )
    assert village["certifying"] and village["docmdp_permission"] == "FILL_FORMS"
    assert village["modification_level"] == "FORM_FILLING" and village["docmdp_ok"]
    assert village["coverage"] == "ENTIRE_REVISION"
    assert (winner["signer"], winner["signer_serial_number"]) == ("竞买人2", "350***********001X")
    assert winner["modification_level"] == "LTA_UPDATES"
    assert winner["timestamp"]["trusted"] and winner["timestamp"]["tsa"] == ca.TSA_CN
    assert stamp["kind"] == "document_timestamp" and stamp["valid"]
    assert stamp["coverage"] in ("ENTIRE_FILE", "ENTIRE_REVISION")
    assert stamp["modification_level"] in ("NONE", "LTA_UPDATES")
    assert all(s["intact"] and s["trusted"] and s["valid"] for s in result["signatures"])
    # PAdES B-LTA: revocation data of every chain in the DSS, sealed by the timestamp.
    reader = PdfFileReader(io.BytesIO(signed.signed))
    assert "/DSS" in reader.root and "/CRLs" in reader.root["/DSS"]
    assert signed.signed.startswith(signed.after_village)
    assert signed.after_village.startswith(signed.unsigned)


def test_village_only_is_valid_but_incomplete(signed: Signed) -> None:
    result = report(signed.after_village, signed.root_pem)
    assert result["valid"] is False and result["unsigned_fields"] == ["Winner"]
    assert [s["valid"] for s in result["signatures"]] == [True]


@pytest.mark.parametrize(
    "breaker", [tamper_byte, remove_signature, change_content, village_revision]
)
def test_broken_copies_are_invalid(signed: Signed, breaker: object) -> None:
    broken = breaker(signed.signed)  # type: ignore[operator]
    result = report(broken, signed.root_pem)
    assert result["valid"] is False, json.dumps(result, ensure_ascii=False)
    if breaker is tamper_byte:
        assert not any(s["intact"] for s in result["signatures"])
    if breaker in (remove_signature, change_content):
        village = result["signatures"][0]
        assert village["intact"] and village["modification_level"] == "OTHER"
        assert village["valid"] is False
    if breaker in (remove_signature, village_revision):
        assert "Winner" in result["unsigned_fields"]


def test_another_root_is_not_trusted(signed: Signed, tmp_path: Path) -> None:
    other = ca.open_authority(tmp_path, "other", signed.at)
    path = tmp_path / "other-root.pem"
    path.write_bytes(other.root_pem())
    result = report(signed.signed, path)
    assert result["valid"] is False
    assert not any(s["trusted"] for s in result["signatures"])


def test_a_revoked_certificate_cannot_sign(signed: Signed) -> None:
    person = signed.authority.issue_person(
        name="李四", masked_id="UID-3", now=signed.at - timedelta(hours=1)
    )
    revoked = ca.Revoked(person.certificate.serial_number, signed.at - timedelta(minutes=1))
    crls = signed.authority.crls([revoked], signed.at)
    rendered = document.render("contract", sample_data(), at=signed.at)
    credentials = signing.Credentials(person.certificate, person.key)
    with pytest.raises(SigningError, match="could not be validated") as caught:
        signing.sign_as_village(
            rendered.pdf,
            rendered.boxes,
            signing.Trust(signed.authority, crls, signed.at),
            credentials,
            reason="x",
        )
    assert "revoked" in repr(caught.value.__cause__).lower()
    # The same certificate, not revoked, signs.
    fine = signing.sign_as_village(
        rendered.pdf,
        rendered.boxes,
        signing.Trust(signed.authority, signed.authority.crls([], signed.at), signed.at),
        credentials,
        reason="x",
    )
    assert fine.startswith(rendered.pdf)


def _ruralx(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, timeout=120, check=False
    )


def test_the_project_command_reports_and_exits_nonzero_when_invalid(
    signed: Signed,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(signed.signed)
    bad.write_bytes(change_content(signed.signed))
    ok = _ruralx("contract", "verify", str(good), "--trust", str(signed.root_pem))
    assert ok.returncode == 0, ok.stderr.decode()
    assert json.loads(ok.stdout)["valid"] is True
    assert "签名有效" in ok.stderr.decode()
    # The same command in process (no second interpreter start-up) for the failures.
    assert cli.main(["contract", "verify", str(bad), "--trust", str(signed.root_pem)]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["valid"] is False and "签名无效" in out.err
    missing = ["contract", "verify", str(tmp_path / "nope.pdf"), "--trust", str(signed.root_pem)]
    assert cli.main(missing) == 2


PYHANKO = shutil.which("pyhanko") or (
    str(Path(sys.executable).parent / "pyhanko")
    if (Path(sys.executable).parent / "pyhanko").exists()
    else None
)


@pytest.mark.skipif(PYHANKO is None, reason="pyHanko's CLI (pyhanko-cli) is not installed")
def test_pyhanko_cli_agrees(signed: Signed, tmp_path: Path) -> None:
    assert PYHANKO is not None
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(signed.signed)
    bad.write_bytes(change_content(signed.signed))
    for command in ("validate", "adesverify"):
        args = [PYHANKO, "sign", command, "--trust-replace", "--trust", str(signed.root_pem)]
        ok = subprocess.run([*args, str(good)], capture_output=True, timeout=120, check=False)
        assert ok.returncode == 0, (command, ok.stdout.decode(), ok.stderr.decode())
        lines = ok.stdout.decode().splitlines()
        assert [line.split(":")[0] for line in lines] == ["Village", "Winner"]
        assert all(":INTACT:TRUSTED," in line for line in lines), lines
        if command == "validate":
            failed = subprocess.run(
                [*args, str(bad)], capture_output=True, timeout=120, check=False
            )
            assert failed.returncode != 0, (command, failed.stdout.decode())
