"""Numbers, sizes, durations and dates as people read them (Babel, Vietnamese and English), and the chart's axes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from axis.exchange.listings import parse_day, parse_filters
from axis.web.charts import throughput_chart
from axis.web.i18n import Translator

VI, EN = Translator("vi"), Translator("en")


def _series(medians: list[float | None]) -> list[dict[str, object]]:
    return [{"month": f"2026-{m:02d}", "sent": m, "received": 1, "delivered": 1, "median_receipt_s": v}
            for m, v in zip(range(1, 13), medians, strict=True)]


def test_sub_second_receipt_times_give_distinct_time_axis_labels_in_milliseconds() -> None:
    chart = throughput_chart(_series([0.05, 0.063, 0.01, 0.02, 0.04, 0.06, None, 0.07, 0.03, 0.02, 0.01, 0.05]), VI)
    labels = [tick.label for tick in chart.time_ticks]
    assert len(labels) == len(set(labels)) > 2, labels
    assert chart.time_axis == "Báo nhận trung vị (mili giây)"
    assert labels[-1] == "80"


@pytest.mark.parametrize("medians", [
    [0.3] * 11 + [2.2],  # a step of 0.5 s
    [12.0] * 12,
    [0.004] * 12,
    [7200.0] * 12,
])
def test_time_axis_labels_never_repeat(medians: list[float]) -> None:
    for t in (VI, EN):
        labels = [tick.label for tick in throughput_chart(_series(list(medians)), t).time_ticks]
        assert len(labels) == len(set(labels)), labels


def test_a_median_under_a_second_is_shown_in_milliseconds_not_as_zero_seconds() -> None:
    assert VI.duration(0.063) == "63 mili giây"
    assert EN.duration(0.063) == "63 ms"
    assert VI.duration(1.5) == "1,5 giây" and EN.duration(1.5) == "1.5 sec"
    assert VI.duration(200) == "3 phút 20 giây" and EN.duration(200) == "3 min 20 sec"
    assert VI.duration(None) == "—"


def test_sizes_and_numbers_use_the_readers_decimal_mark() -> None:
    assert VI.size(17_000) == "17,0 kB" and EN.size(17_000) == "17.0 kB"
    assert VI.size(2_500_000) == "2,5 MB" and VI.size(512) == "512 byte"
    assert VI.number(1234) == "1.234" and EN.number(1234) == "1,234"
    assert VI.number(0.25, 2) == "0,25"


def test_dates_are_day_first_in_vietnamese_and_iso_in_english() -> None:
    moment = datetime(2026, 11, 3, 2, 5, 7, tzinfo=UTC)  # 09:05:07 in Vietnam
    assert VI.when(moment) == "03/11/2026 09:05" and EN.when(moment) == "2026-11-03 09:05"
    assert VI.when_seconds(moment) == "03/11/2026 09:05:07"
    assert VI.day(date(2026, 11, 3)) == "03/11/2026" and EN.day(date(2026, 11, 3)) == "2026-11-03"
    assert VI.day_words(date(2026, 11, 3)) == "3 tháng 11, 2026"
    assert EN.day_words(date(2026, 11, 3)) == "November 3, 2026"


def test_typed_dates_are_read_day_first_and_a_month_first_date_is_refused() -> None:
    assert parse_day("03/11/2026") == date(2026, 11, 3)
    assert parse_day("3/11/2026") == date(2026, 11, 3)
    assert parse_day("2026-11-03") == date(2026, 11, 3)
    for bad in ("11/31/2026", "12/31/2026", "2026-13-01", "3 Nov", "03/11/26"):
        with pytest.raises(ValueError):
            parse_day(bad)
    f = parse_filters({"from": "12/31/2026", "to": "31/12/2026"})
    assert f.date_from is None and f.bad_from == "12/31/2026" and f.date_to == date(2026, 12, 31)


def test_byte_counts_take_the_plural_of_their_language_through_babel() -> None:
    # CLDR's short English form is "byte" for every count; the long form follows the plural rules.
    assert EN.size(0) == "0 bytes" and EN.size(1) == "1 byte" and EN.size(944) == "944 bytes"
    # Vietnamese nouns have one form (CLDR: "other" only): 944 byte is the language's own plural.
    assert VI.size(0) == "0 byte" and VI.size(944) == "944 byte"
    assert EN.size(1_500) == "1.5 kB" and VI.size(1_500) == "1,5 kB"


def test_months_are_written_as_their_language_writes_dates_and_typed_either_way() -> None:
    from axis.web.reports import month_field

    assert VI.month("2026-12") == "12/2026" and EN.month("2026-12") == "2026-12"
    assert VI.day_text("2026-12-06") == "06/12/2026" and EN.day_text(date(2026, 12, 6)) == "2026-12-06"
    assert VI.day_text("") == "" and VI.day_text("not a date") == "not a date"
    assert month_field("11/2026") == "2026-11" and month_field("1/2027") == "2027-01"
    assert month_field("2026-11") == "2026-11" and month_field(" 2026-3 ") == "2026-03"
    for bad in ("13/2026", "2026-13", "11-2026", "Nov 2026", ""):
        with pytest.raises(ValueError):
            month_field(bad)
    chart = throughput_chart(_series([1.0] * 12), VI)
    assert chart.title.endswith("01/2026 – 12/2026")
    assert throughput_chart(_series([1.0] * 12), EN).title.endswith("2026-01 – 2026-12")


def test_a_push_error_is_worded_from_its_code_and_its_detail_kept_apart() -> None:
    stored = "recipient endpoint unreachable: ClientConnectorError: Cannot connect to host 127.0.0.1:9"
    assert VI.push_error(stored) == "Không kết nối được tới địa chỉ nhận của nơi nhận"
    assert EN.push_error(stored) == "The recipient's endpoint is unreachable"
    assert VI.push_detail(stored) == "ClientConnectorError: Cannot connect to host 127.0.0.1:9"
    assert VI.push_error("recipient endpoint answered HTTP 503: Service Unavailable") == \
        "Địa chỉ nhận trả lời mã HTTP 503"
    # Anything else (an axis-side failure, an error stored before the fixed words) is the generic sentence.
    assert EN.push_error("delivery attempt failed: ValueError: boom") == "The delivery attempt failed"
    assert EN.push_detail("delivery attempt failed: ValueError: boom") == "ValueError: boom"
    assert EN.push_error("HTTP 503 (bench)") == "The delivery attempt failed" and VI.push_error(None) == ""


def test_audit_details_read_as_labelled_values_not_json() -> None:
    details = ('{"delivery": 7, "recipient": "001.00.10.H47", "previous_state": "failed", "attempts": 3, '
               '"reason": "Đã sửa máy chủ", "error": "recipient endpoint unreachable: OSError", '
               '"filters": {"sender": "000.00.00.G22"}, "documents": ["A", "B"], "new_key": true}')
    assert VI.audit_details(details) == [
        ("Lượt chuyển", "7"), ("Nơi nhận", "001.00.10.H47"), ("Trạng thái trước", "Không chuyển được"),
        ("Số lần chuyển", "3"), ("Lý do", "Đã sửa máy chủ"),
        ("Lỗi", "Không kết nối được tới địa chỉ nhận của nơi nhận"), ("Điều kiện", "sender=000.00.00.G22"),
        ("documents", "A, B"), ("new key", "✔")]
    assert EN.audit_details(details)[2] == ("Previous state", "Failed")
    assert EN.audit_details("") == [] and EN.audit_details("not json") == [("", "not json")]


def test_counted_words_take_the_plural_form_of_the_language() -> None:
    assert EN("registers.count", count=1) == "1 document" and EN("registers.count", count=2) == "2 documents"
    assert EN("registers.count", count=1234) == "1,234 documents" and VI("registers.count", count=1234) == "1.234 văn bản"
    assert EN("retention.years", n=1) == "1 year" and EN("failed.done", n=1) == "1 delivery queued again."
    assert VI("holds.documents", n=1) == "1 tài liệu" and EN("holds.documents", n=0) == "0 documents"


def test_an_endpoint_refused_for_its_address_is_worded_too() -> None:
    stored = "recipient endpoint's address is not allowed: dms.example.vn resolves to 10.0.0.5"
    assert EN.push_error(stored).startswith("The recipient's endpoint resolves to an internal address")
    assert VI.push_detail(stored) == "dms.example.vn resolves to 10.0.0.5"
