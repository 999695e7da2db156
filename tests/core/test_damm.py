import itertools
import random

from chumnuoy.damm import check_digit, is_valid, with_check_digit


def test_known_value_from_damm_paper():
    assert check_digit("572") == "4"
    assert is_valid("5724")


def test_every_single_digit_error_is_detected():
    rng = random.Random(7)
    for _ in range(200):
        number = with_check_digit("".join(rng.choice("0123456789") for _ in range(7)))
        for position, digit in itertools.product(range(8), "0123456789"):
            if number[position] != digit:
                assert not is_valid(number[:position] + digit + number[position + 1 :])


def test_every_adjacent_transposition_is_detected():
    rng = random.Random(11)
    for _ in range(200):
        number = with_check_digit("".join(rng.choice("0123456789") for _ in range(7)))
        for position in range(7):
            a, b = number[position], number[position + 1]
            if a != b:
                swapped = number[:position] + b + a + number[position + 2 :]
                assert not is_valid(swapped)


def test_rejects_non_digits_and_empty():
    assert not is_valid("")
    assert not is_valid("12a4")
    assert not is_valid("៥៧២៤")  # Khmer digits are converted by the caller first
