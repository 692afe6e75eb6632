"""The platform CA: root → intermediate → people, encrypted keys, CRLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from contracts import ca, ca_keys

NOW = datetime(2026, 12, 12, 3, 0, tzinfo=UTC)


@pytest.fixture
def authority(tmp_path: Path) -> ca.Authority:
    return ca.open_authority(tmp_path, "secret-one", NOW)


def test_created_once_with_encrypted_keys(authority: ca.Authority, tmp_path: Path) -> None:
    directory = tmp_path / "ca"
    for name in ("root", "intermediate", "tsa", "platform"):
        assert (directory / f"{name}.pem").exists()
        key = (directory / f"{name}.key.pem").read_bytes()
        assert key.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert (directory / f"{name}.key.pem").stat().st_mode & 0o077 == 0
    ca._cache.clear()
    again = ca.open_authority(tmp_path, "secret-one", NOW + timedelta(days=1))
    assert again.root == authority.root  # loaded, not recreated
    ca._cache.clear()
    with pytest.raises(ca_keys.CAKeyError, match="RURALX_SECRET_KEY"):
        ca.open_authority(tmp_path, "another-secret", NOW)


def test_chain_and_extensions(authority: ca.Authority) -> None:
    root, inter = authority.root, authority.intermediate
    inter.verify_directly_issued_by(root)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert inter.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    tsa_eku = authority.tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert tsa_eku.critical and list(tsa_eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_person_certificate(authority: ca.Authority, tmp_path: Path) -> None:
    issued = authority.issue_person(name="竞买人2", masked_id="350***********001X", now=NOW)
    cert = issued.certificate
    cert.verify_directly_issued_by(authority.intermediate)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "竞买人2"
    assert (
        cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "350***********001X"
    )
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.content_commitment and usage.value.digital_signature
    assert not usage.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_before_utc <= NOW < cert.not_valid_after_utc
    path = authority.store_key(issued)
    assert (tmp_path / "ca" / path).read_bytes().startswith(b"-----BEGIN ENCRYPTED")
    key = authority.load_key(path, issued.serial_hex)
    assert key.public_key().public_numbers() == issued.key.public_key().public_numbers()  # type: ignore[union-attr]


def test_crl_lists_revoked_certificates(authority: ca.Authority) -> None:
    issued = authority.issue_person(name="张三", masked_id="UID-9", now=NOW)
    inter_crl, root_crl = authority.crls([ca.Revoked(issued.certificate.serial_number, NOW)], NOW)
    assert inter_crl.is_signature_valid(authority.intermediate.public_key())  # type: ignore[arg-type]
    assert root_crl.is_signature_valid(authority.root.public_key())  # type: ignore[arg-type]
    revoked = inter_crl.get_revoked_certificate_by_serial_number(issued.certificate.serial_number)
    assert revoked is not None and len(root_crl) == 0
    assert inter_crl.next_update_utc is not None and inter_crl.next_update_utc > NOW
