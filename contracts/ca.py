"""The platform's certificate authority: root → intermediate → signing certificates, CRLs.

Built with `cryptography`. The root and the intermediate, the timestamp authority (TSA) and
the exchange's own signing certificate are created on first use under
`RURALX_DATA_DIR/ca/`; every private key is stored encrypted (PKCS#8,
`BestAvailableEncryption`) with a passphrase derived from `RURALX_SECRET_KEY` by HKDF, so a
copy of the data directory alone does not give the keys away. Losing or changing the secret
key makes the stored keys unreadable: `CAKeyError` says so instead of signing with a new CA
(the key files: `contracts.ca_keys`).

The certificate of a person (village official or winning bidder) carries their real name as
CN and their masked identity number as serialNumber, key usage nonRepudiation +
digitalSignature. Which certificates were issued, and which are revoked, is a table of the
database (`contracts.models.SigningCertificate`); the CRL is built from it.

Time never comes from the wall clock here: every function takes `now`.
"""

from __future__ import annotations

import contextlib
import fcntl
import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from contracts.ca_keys import PrivateKey, passphrase, read_private, write_private, write_public

ORG = "ruralx 农村产权流转交易平台"
ROOT_CN = "ruralx 农村产权交易平台根证书 (Root CA)"
INTERMEDIATE_CN = "ruralx 电子签名证书签发机构 (Issuing CA)"
TSA_CN = "ruralx 可信时间戳服务 (TSA)"
PLATFORM_CN = "农村产权流转交易中心"

#: Margin for clocks that disagree a little (a signature checked right after issuance).
SKEW = timedelta(minutes=5)
ROOT_YEARS, INTERMEDIATE_YEARS, SERVICE_YEARS, USER_YEARS = 20, 10, 10, 3


def new_serial() -> int:
    # RFC 5280: positive, at most 20 octets; 159 random bits leave no room for guessing.
    return secrets.randbits(159) | 1


def _name(
    cn: str, *, org: str | None = ORG, serial_number: str | None = None, unit: str | None = None
) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    if serial_number:
        # A masked number contains "*", which PrintableString (the usual type) cannot hold.
        attrs.append(
            x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number, _type=_ASN1Type.UTF8String)
        )
    return x509.Name(attrs)


def _key_usage(*, sign: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate issued to a person, with its private key (not yet stored)."""

    certificate: x509.Certificate
    key: PrivateKey

    @property
    def serial_hex(self) -> str:
        return f"{self.certificate.serial_number:x}"

    @property
    def fingerprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()


@dataclass(frozen=True, slots=True)
class Revoked:
    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags = x509.ReasonFlags.unspecified


@dataclass
class Authority:
    """The loaded CA: certificates and (decrypted, in memory) keys of the platform."""

    directory: Path
    secret_key: str
    root: x509.Certificate
    root_key: PrivateKey
    intermediate: x509.Certificate
    intermediate_key: PrivateKey
    tsa: x509.Certificate
    tsa_key: rsa.RSAPrivateKey
    platform: x509.Certificate
    platform_key: PrivateKey

    # --- issuing ------------------------------------------------------------------------

    def issue_person(
        self,
        *,
        name: str,
        masked_id: str,
        now: datetime,
        organisation: str | None = None,
    ) -> Issued:
        """A signing certificate for one person: CN = real name, serialNumber = masked ID."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(name, org=organisation, serial_number=masked_id)
        cert = _leaf(
            self.intermediate, self.intermediate_key, subject, key.public_key(), now, USER_YEARS
        )
        return Issued(cert, key)

    # --- storing a person's key ------------------------------------------------------------

    def store_key(self, issued: Issued) -> str:
        """Write the person's key (encrypted) under ca/users/; returns its relative path."""
        relative = f"users/{issued.serial_hex}.key.pem"
        path = self.directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, issued.key, passphrase(self.secret_key, f"user:{issued.serial_hex}"))
        return relative

    def load_key(self, relative: str, serial_hex: str) -> PrivateKey:
        return read_private(
            self.directory / relative, passphrase(self.secret_key, f"user:{serial_hex}")
        )

    # --- revocation -----------------------------------------------------------------------

    def crls(
        self,
        revoked: Iterable[Revoked],
        now: datetime,
        valid_for: timedelta = timedelta(days=7),
    ) -> tuple[x509.CertificateRevocationList, ...]:
        """Fresh CRLs: the intermediate's (people, TSA) and the root's (intermediates)."""
        number = int(now.timestamp() * 1000)
        return (
            _crl(self.intermediate, self.intermediate_key, revoked, now, valid_for, number),
            _crl(self.root, self.root_key, (), now, valid_for, number),
        )

    def chain(self) -> tuple[x509.Certificate, ...]:
        """Certificates a relying party needs besides the root."""
        return (self.intermediate,)

    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)


def _leaf(
    issuer: x509.Certificate,
    issuer_key: PrivateKey,
    subject: x509.Name,
    public_key: object,
    now: datetime,
    years: int,
    eku: list[x509.ObjectIdentifier] | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(new_serial())
        .not_valid_before(now - SKEW)
        .not_valid_after(min(now + timedelta(days=365 * years), issuer.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key),  # type: ignore[arg-type]
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _crl(
    issuer: x509.Certificate,
    key: PrivateKey,
    revoked: Iterable[Revoked],
    now: datetime,
    valid_for: timedelta,
    number: int,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - SKEW)
        .next_update(now + valid_for)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
    )
    for item in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(item.serial)
            .revocation_date(item.revoked_at)
            .add_extension(x509.CRLReason(item.reason), critical=False)
            .build()
        )
    return builder.sign(key, hashes.SHA256())


# --- creation and loading ------------------------------------------------------------------

_FILES = ("root", "intermediate", "tsa", "platform")
_cache: dict[tuple[str, str], Authority] = {}
_cache_lock = threading.Lock()


def open_authority(data_dir: str | Path, secret_key: str, now: datetime) -> Authority:
    """The platform CA under `data_dir/ca`, created on first use (once, across processes)."""
    directory = Path(data_dir).resolve() / "ca"
    cache_key = (str(directory), secret_key)
    with _cache_lock:
        cached = _cache.get(cache_key)
        if cached is not None:
            return cached
        directory.mkdir(parents=True, exist_ok=True)
        with _file_lock(directory / ".lock"):
            if not (directory / "platform.pem").exists():
                _create(directory, secret_key, now)
            authority = _load(directory, secret_key)
        _cache[cache_key] = authority
        return authority


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _authority(
    subject: x509.Name,
    key: PrivateKey,
    issuer: tuple[x509.Certificate, PrivateKey] | None,
    now: datetime,
    years: int,
    *,
    path_length: int,
) -> x509.Certificate:
    """A CA certificate: the root (self-signed, `issuer` None) or an intermediate."""
    issuer_name, issuer_key = (subject, key) if issuer is None else (issuer[0].subject, issuer[1])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(new_serial())
        .not_valid_before(now - SKEW)
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA384())


def _create(directory: Path, secret_key: str, now: datetime) -> None:
    root_key = ec.generate_private_key(ec.SECP384R1())
    root = _authority(_name(ROOT_CN), root_key, None, now, ROOT_YEARS, path_length=1)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    intermediate = _authority(
        _name(INTERMEDIATE_CN),
        inter_key,
        (root, root_key),
        now,
        INTERMEDIATE_YEARS,
        path_length=0,
    )
    # pyHanko's in-process timestamper signs with RSA only.
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = _leaf(
        intermediate,
        inter_key,
        _name(TSA_CN),
        tsa_key.public_key(),
        now,
        SERVICE_YEARS,
        eku=[ExtendedKeyUsageOID.TIME_STAMPING],
    )
    platform_key = ec.generate_private_key(ec.SECP256R1())
    platform = _leaf(
        intermediate,
        inter_key,
        _name(PLATFORM_CN, org=PLATFORM_CN),
        platform_key.public_key(),
        now,
        SERVICE_YEARS,
    )
    pairs: dict[str, tuple[x509.Certificate, PrivateKey]] = {
        "root": (root, root_key),
        "intermediate": (intermediate, inter_key),
        "tsa": (tsa, tsa_key),
        "platform": (platform, platform_key),
    }
    # platform.pem last: its presence means the set is complete.
    for name in _FILES:
        cert, key = pairs[name]
        write_private(directory / f"{name}.key.pem", key, passphrase(secret_key, name))
        write_public(directory / f"{name}.pem", cert.public_bytes(serialization.Encoding.PEM))


def _load(directory: Path, secret_key: str) -> Authority:
    loaded: dict[str, tuple[x509.Certificate, PrivateKey]] = {}
    for name in _FILES:
        cert = x509.load_pem_x509_certificate((directory / f"{name}.pem").read_bytes())
        key = read_private(directory / f"{name}.key.pem", passphrase(secret_key, name))
        loaded[name] = (cert, key)
    tsa_cert, tsa_key = loaded["tsa"]
    assert isinstance(tsa_key, rsa.RSAPrivateKey)
    return Authority(
        directory,
        secret_key,
        *loaded["root"],
        *loaded["intermediate"],
        tsa_cert,
        tsa_key,
        *loaded["platform"],
    )
