"""What the command lines share: argument types that refuse bad values with a clear message."""
import argparse
import re

# numbers and comma-separated numbers that start with a minus ("-1", "-1,0.5", "-.5"): inputs,
# not options
NEGATIVE_INPUT = re.compile(r"^-\.?\d[\d.,eE+-]*$")


def positive_int(text):
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def accept_negative_inputs(parser):
    """Let `parser`'s positional arguments start with a minus when they are numbers."""
    parser._negative_number_matcher = NEGATIVE_INPUT  # argparse's own hook for "-1" (private)
    return parser
