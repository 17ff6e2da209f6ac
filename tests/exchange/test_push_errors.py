"""What senders and recipients may read of a failed push: fixed words only, never the operator's detail."""

from __future__ import annotations

import pytest

from axis.exchange import push_errors
from axis.exchange.push_errors import GENERIC, PushFailure, answered, public_error


def test_a_failure_is_stored_public_words_first_then_the_detail() -> None:
    failure = PushFailure(push_errors.UNREACHABLE, "connect to 10.1.2.3:8443 refused")
    assert failure.stored == "recipient endpoint unreachable: connect to 10.1.2.3:8443 refused"
    assert public_error(failure.stored) == push_errors.UNREACHABLE
    assert PushFailure(push_errors.NO_ENDPOINT).stored == push_errors.NO_ENDPOINT


@pytest.mark.parametrize("status", [404, 500, 503])
def test_an_http_answer_keeps_its_status_and_hides_the_body(status: int) -> None:
    stored = answered(status, "body: <html>internal-host.bo.local</html>").stored
    assert public_error(stored) == f"recipient endpoint answered HTTP {status}"


@pytest.mark.parametrize("stored", [
    "Traceback (most recent call last): ... 192.168.0.7",
    "recipient endpoint unreachableX: host secret.local",  # the fixed words must end where they end
    "recipient endpoint answered HTTP 5030: x",
    "redirected to http://intranet.local/",
    "",
])
def test_anything_else_is_shown_as_the_generic_words(stored: str) -> None:
    assert public_error(stored) == GENERIC


def test_no_error_has_no_public_words() -> None:
    assert public_error(None) is None
