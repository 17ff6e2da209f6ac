"""Micro benchmark: median sign and verify time of an edXML document, RSA-2048, per attachment size.

Run from the repository root::

    .venv/bin/python -m axis.bench.sign_verify [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial

from axis.agency.client import compose_document
from envelope.builder import build_document
from envelope.model import Attachment, Organization
from signing.keys import DevelopmentCA
from signing.signer import sign_envelope
from signing.verifier import VerifyPolicy, verify_envelope

#: Attachment sizes measured by default: a short letter and a scanned one.
SIZES = {"3 KB": 3 * 1024, "1 MB": 1024 * 1024}
SENDER = Organization("000.00.00.G22", "Văn phòng Chính phủ")
RECIPIENT = Organization("000.00.00.H29", "UBND Thành phố Hồ Chí Minh")


@dataclass(frozen=True)
class SignVerifyFigure:
    """One attachment size's medians."""

    label: str
    message_bytes: int
    sign_ms: float
    verify_ms: float


def _median_ms(action: Callable[[], object], rounds: int) -> float:
    action()  # warm-up: imports, schema loading, caches
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def unsigned_document(attachment: bytes) -> bytes:
    """An unsigned edXML document carrying ``attachment`` as its one file."""
    doc = compose_document(
        sender=SENDER, recipients=[RECIPIENT], subject="Về việc triển khai liên thông văn bản điện tử",
        number="7816", notation="VPCP-TTĐT", promulgation_date=date(2024, 5, 1),
        attachments=[Attachment("cid:1", "cong-van.pdf", "application/pdf", attachment)],
    )
    return build_document(doc)


def measure(rounds: int = 30, sizes: dict[str, int] | None = None) -> list[SignVerifyFigure]:
    """Median sign and verify milliseconds of one signed document per attachment size."""
    ca = DevelopmentCA.create()
    ident = ca.issue("Benchmark", organ_id=SENDER.organ_id, kind="rsa")
    policy = VerifyPolicy(ca_certificates=(ca.certificate,))
    out = []
    for label, size in (sizes or SIZES).items():
        unsigned = unsigned_document(os.urandom(size))
        signed = sign_envelope(unsigned, ident.key, ident.certificate)
        sign_ms = _median_ms(partial(sign_envelope, unsigned, ident.key, ident.certificate), rounds)
        verify_ms = _median_ms(partial(verify_envelope, signed, policy=policy), rounds)
        out.append(SignVerifyFigure(label, len(signed), sign_ms, verify_ms))
    return out


def render(figures: Sequence[SignVerifyFigure], rounds: int) -> str:
    """The figures as the table the docs quote."""
    lines = [f"RSA-2048, exc-c14n, SHA-256; median of {rounds} rounds; Python {sys.version.split()[0]}, "
             f"{os.cpu_count()} CPUs",
             f"{'attachment':>10} {'message':>10} {'sign ms':>9} {'verify ms':>10}"]
    lines += [f"{f.label:>10} {f.message_bytes / 1024:>8.0f}KB {f.sign_ms:>9.2f} {f.verify_ms:>10.2f}" for f in figures]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Print median sign and verify milliseconds per attachment size."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args(argv).rounds
    print(render(measure(rounds), rounds))


if __name__ == "__main__":
    main()
