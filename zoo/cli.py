"""What the command lines share: argument types that refuse bad values with a clear message,
`--verbose` / `--debug`, and one `error:` line instead of a traceback when a command fails."""
import argparse
import ast
import os
import re
import sys
from pathlib import Path

DEBUG_VARIABLE = "ZOO_DEBUG"
# the errors the zoo raises to say what to do (ArtifactError, InputError and the data loaders'
# errors are ValueErrors; a missing file or a read-only folder is an OSError): their message
# is the whole story, shown as it is, with exit status 2
EXPECTED_ERRORS = (ValueError, TypeError, OSError, RuntimeError, KeyError, EOFError)

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


def output_dir(text):
    """An argparse type: a folder that exists and is writable, or can be made (its nearest
    existing parent is a writable folder)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    existing = next(p for p in [path, *path.absolute().parents] if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write into {existing} (permission denied); "
                                         f"choose another folder")
    return text


def output_file(text):
    """An argparse type: a file path that is not a folder and whose folder `output_dir`
    accepts (made when missing)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    output_dir(str(path.absolute().parent))
    path.absolute().parent.mkdir(parents=True, exist_ok=True)
    return text


def parse_overrides(pairs):
    """`["width=32", "optimizer=adam"]` -> `{"width": 32, "optimizer": "adam"}`."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set takes KEY=VALUE, got {pair!r}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def accept_negative_inputs(parser):
    """Let `parser`'s positional arguments start with a minus when they are numbers."""
    parser._negative_number_matcher = NEGATIVE_INPUT  # argparse's own hook for "-1" (private)
    return parser


def common_options():
    """A parent parser with the options every command line takes."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's start-up lines (also: ZOO_VERBOSE=1)")
    parser.add_argument("--debug", action="store_true",
                        help=f"on failure, show the traceback (also: {DEBUG_VARIABLE}=1)")
    return parser


def run_command(command, args):
    """`command(args)`'s exit status; a failure ends as one `error: ...` line on stderr (status
    2 for the errors the zoo raises to say what to do, 1 for anything else), or as the full
    traceback with `--debug` / `$ZOO_DEBUG`."""
    try:
        return command(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the point: one line, not a traceback
        if getattr(args, "debug", False) or os.environ.get(DEBUG_VARIABLE):
            raise
        print(f"error: {error_line(error)}", file=sys.stderr)
        return 2 if isinstance(error, EXPECTED_ERRORS) else 1


def error_line(error):
    """One line for `error`: its message, with the exception's type where the message alone
    would not say what went wrong."""
    message = " ".join(str(error).split()) or type(error).__name__
    own = type(error).__module__.startswith(("zoo", "training", "tuning"))
    if own or type(error) in (ValueError, RuntimeError):
        return message
    if isinstance(error, KeyError):
        return f"missing key {message}"
    return f"{type(error).__name__}: {message} (--debug shows where)"
