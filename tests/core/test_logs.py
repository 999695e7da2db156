import logging

from chumnuoy.logs import MaskingFilter, mask


def test_mask_hides_phones_ids_and_birth_dates():
    text = mask("P1 +85512000101 id 100000101 born 1996-04-12 dob 12041996 phone 012000101")
    for secret in ["85512000101", "100000101", "1996-04-12", "12041996", "012000101"]:
        assert secret not in text
    assert "P1" in text


def test_filter_masks_arguments_of_log_calls(caplog):
    logger = logging.getLogger("test.mask")
    logger.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="test.mask"):
        logger.info("looked up %s", "+85597000103")
    assert "97000103" not in caplog.text
    assert "03" in caplog.text


def _logged(fmt: str, emit) -> str:  # type: ignore[no-untyped-def]
    import io

    from chumnuoy.logs import make_handler

    stream = io.StringIO()
    logger = logging.getLogger(f"test.format.{fmt}")
    logger.handlers[:] = [make_handler(fmt, stream)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    emit(logger)
    return stream.getvalue()


def test_json_lines_carry_the_request_context_and_mask_personal_data():
    import json

    from chumnuoy.logs import request_context

    def emit(logger):  # type: ignore[no-untyped-def]
        with request_context("rid-42", channel="sms", path="/channels/sms/gateway"):
            logger.info("reply to %s (UIN %s)", "+85512000101", "100000101")
            try:
                raise ValueError("no person with date of birth 12041996")
            except ValueError:
                logger.exception("lookup failed for 012000101")
        logger.warning("outside a request")

    lines = _logged("json", emit).splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert set(first) == {"ts", "level", "logger", "msg", "request_id", "channel", "path"}
    assert first["level"] == "INFO" and first["logger"] == "test.format.json"
    assert first["request_id"] == "rid-42" and first["channel"] == "sms"
    assert first["path"] == "/channels/sms/gateway"
    assert first["msg"].endswith("01)")
    assert "85512000101" not in first["msg"] and "100000101" not in first["msg"]
    assert first["ts"].endswith("+00:00")
    assert second["level"] == "ERROR" and "ValueError" in second["exc"]
    assert "12041996" not in second["exc"] and "012000101" not in second["msg"]
    assert third["request_id"] is None and "channel" not in third


def test_text_lines_show_the_request_id_and_mask_tracebacks():
    from chumnuoy.logs import request_context

    def emit(logger):  # type: ignore[no-untyped-def]
        with request_context("rid-43"):
            try:
                raise KeyError("+85597000103")
            except KeyError:
                logger.exception("failed")

    text = _logged("text", emit)
    assert "test.format.text [rid-43]: failed" in text
    assert "KeyError" in text and "97000103" not in text
