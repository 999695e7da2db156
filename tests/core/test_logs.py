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
