"""Micro benchmark: median sign and verify time for an edXML document, RSA-2048.

Not a test (no ``test_`` prefix, so pytest does not collect it). Run from the
repository root:

    .venv/bin/python tests/signing/measure_sign_verify.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Runnable as a plain script: make the repo root and this folder importable.
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

from sample_envelopes import sample_document  # noqa: E402

from signing.keys import DevelopmentCA  # noqa: E402
from signing.signer import sign_envelope  # noqa: E402
from signing.verifier import VerifyPolicy, verify_envelope  # noqa: E402

SIZES = {"3 KB": 3 * 1024, "1 MB": 1024 * 1024}


def _median_ms(action: Callable[[], object], rounds: int) -> float:
    action()  # warm-up: imports, schema loading, caches
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    """Print median sign and verify milliseconds per attachment size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds
    ca = DevelopmentCA.create()
    ident = ca.issue("Benchmark", organ_id="000.00.00.G22", kind="rsa")
    policy = VerifyPolicy(ca_certificates=(ca.certificate,))
    print(f"RSA-2048, exc-c14n, SHA-256; median of {rounds} rounds; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"{'attachment':>10} {'message':>10} {'sign ms':>9} {'verify ms':>10}")
    for label, size in SIZES.items():
        unsigned = sample_document(attachment=os.urandom(size), pretty=False)
        signed = sign_envelope(unsigned, ident.key, ident.certificate)
        sign_ms = _median_ms(lambda u=unsigned: sign_envelope(u, ident.key, ident.certificate), rounds)
        verify_ms = _median_ms(lambda s=signed: verify_envelope(s, policy=policy), rounds)
        print(f"{label:>10} {len(signed) / 1024:>8.0f}KB {sign_ms:>9.2f} {verify_ms:>10.2f}")


if __name__ == "__main__":
    main()
