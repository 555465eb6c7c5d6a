"""PAdES signatures on the letters with pyHanko, where a certificate is configured.

Config: LETTER_SIGN_KEY and LETTER_SIGN_CERT (paths of PEM or DER files), optional
LETTER_SIGN_KEY_PASSPHRASE and LETTER_SIGN_CHAIN (paths of the intermediate certificates).
Without them letters go out unsigned, with the printed-signature notice instead.
"""

from __future__ import annotations

import io
from functools import lru_cache

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import SigSeedSubFilter

FIELD_NAME = "FirmaDirigente"


def configured(config) -> bool:
    return bool(config.get("LETTER_SIGN_KEY") and config.get("LETTER_SIGN_CERT"))


@lru_cache(maxsize=4)
def _signer(key: str, cert: str, passphrase: str | None, chain: tuple[str, ...]):
    signer = signers.SimpleSigner.load(
        key,
        cert,
        ca_chain_files=chain or None,
        key_passphrase=passphrase.encode() if passphrase else None,
    )
    if signer is None:  # pyHanko logs and returns None on a file it cannot read
        raise ValueError("LETTER_SIGN_KEY / LETTER_SIGN_CERT: chiave o certificato illeggibili")
    return signer


def signer_of(config):
    chain = config.get("LETTER_SIGN_CHAIN") or ()
    if isinstance(chain, str):
        chain = (chain,)
    return _signer(
        str(config["LETTER_SIGN_KEY"]),
        str(config["LETTER_SIGN_CERT"]),
        config.get("LETTER_SIGN_KEY_PASSPHRASE") or None,
        tuple(str(c) for c in chain),
    )


def sign(pdf: bytes, config, *, reason: str, location: str = "Milano") -> bytes:
    """The PDF with an invisible PAdES baseline signature (an incremental update)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    out = signers.sign_pdf(
        writer,
        metadata,
        signer=signer_of(config),
        new_field_spec=fields.SigFieldSpec(sig_field_name=FIELD_NAME),
    )
    return out.getvalue()
