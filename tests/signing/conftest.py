"""Key material for the signing tests, generated once per session (RSA generation is slow)."""

from __future__ import annotations

import pytest

from signing.keys import DevelopmentCA, IssuedIdentity, generate_private_key, self_signed_certificate
from signing.verifier import VerifyPolicy

SENDER = "000.00.00.G22"


@pytest.fixture(scope="session")
def dev_ca() -> DevelopmentCA:
    return DevelopmentCA.create()


@pytest.fixture(scope="session")
def other_ca() -> DevelopmentCA:
    return DevelopmentCA.create(common_name="Some Other CA")


@pytest.fixture(scope="session")
def rsa_identity(dev_ca: DevelopmentCA) -> IssuedIdentity:
    return dev_ca.issue("Văn phòng Chính phủ", organ_id=SENDER, kind="rsa")


@pytest.fixture(scope="session")
def ec_identity(dev_ca: DevelopmentCA) -> IssuedIdentity:
    return dev_ca.issue("Văn phòng Chính phủ (EC)", organ_id=SENDER, kind="ec")


@pytest.fixture(scope="session")
def self_signed_identity() -> IssuedIdentity:
    key = generate_private_key("rsa")
    return IssuedIdentity(key, self_signed_certificate(key, "UBND Thành phố Hồ Chí Minh", organ_id="000.00.00.H29"))


@pytest.fixture(scope="session")
def foreign_identity(other_ca: DevelopmentCA) -> IssuedIdentity:
    return other_ca.issue("Impostor", organ_id=SENDER, kind="rsa")


@pytest.fixture(scope="session")
def axis_identity(dev_ca: DevelopmentCA) -> IssuedIdentity:
    return dev_ca.issue("Trục liên thông văn bản quốc gia", organ_id=None, kind="rsa", valid_days=3650)


@pytest.fixture(scope="session")
def ca_policy(dev_ca: DevelopmentCA) -> VerifyPolicy:
    return VerifyPolicy(ca_certificates=(dev_ca.certificate,))
