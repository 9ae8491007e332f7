"""Saved models and their cards: atomic writes, loading by name or path, sha256 checks."""
import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

SAVED_MODELS_VARIABLE = "ZOO_SAVED_MODELS"


class ArtifactError(ValueError):
    """A saved model that is missing, corrupt, altered, or not a keras-zoo model."""


PUBLISHED = "published.json"  # in a staging folder: the set is complete, move it into place


def saved_models_dir():
    """Where named artifacts live: `$ZOO_SAVED_MODELS`, else the `saved_models/` folder shipped
    beside the packages (a source checkout and an installed wheel alike)."""
    if os.environ.get(SAVED_MODELS_VARIABLE):
        return Path(os.environ[SAVED_MODELS_VARIABLE])
    try:
        import saved_models

        return Path(saved_models.__file__).resolve().parent
    except ImportError:
        return Path(__file__).resolve().parent.parent / "saved_models"


def artifact_path(name_or_path):
    """A registered name maps to `saved_models/NAME.keras`; anything with a suffix or a slash is
    taken as a path."""
    text = str(name_or_path)
    if text.endswith(".keras") or os.sep in text or "/" in text:
        return Path(text)
    return saved_models_dir() / f"{text}.keras"


@contextlib.contextmanager
def atomic_path(target, suffix=None):
    """Yield a temporary path beside `target` ending in `suffix` (default: the target's); on
    success it replaces `target` in one rename, on any error it is deleted and `target` is left
    as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{suffix or target.suffix}",
                               dir=target.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; artifacts are for everyone
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def save_model(model, path):
    """Save a `.keras` file atomically: an interrupted save never replaces a good artifact."""
    with atomic_path(path) as tmp:
        model.save(tmp)
    return Path(path)


def write_json(data, path):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n")
    return Path(path)


def staging_dir(folder, stem):
    return Path(folder) / f".{stem}.publishing"


@contextlib.contextmanager
def publishing(folder, stem):
    """Yield an empty staging folder inside `folder`; the files written into it (an artifact,
    its card, its figures) replace their namesakes in `folder` together when the block ends,
    and none of them does when it raises.

    The set is committed by writing `published.json` (its file names) into the staging folder
    after everything else; the renames follow. A process killed before the commit leaves the
    previous set as it was (the staging folder is discarded by the next publish); one killed
    between the commit and the last rename (a few renames' time) leaves a committed staging
    folder that `finish_publishing` completes, which the next publish of `stem` does first,
    and meanwhile `load` refuses the half-moved artifact (its sha256 no longer matches the
    card)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    finish_publishing(folder, stem)
    staging = staging_dir(folder, stem)
    staging.mkdir()
    committed = False
    try:
        yield staging
        names = sorted(p.name for p in staging.iterdir())
        with atomic_path(staging / PUBLISHED) as tmp:
            tmp.write_text(json.dumps(names))
            _fsync(tmp)
        committed = True
        finish_publishing(folder, stem)
    finally:
        if not committed:
            shutil.rmtree(staging, ignore_errors=True)


def finish_publishing(folder, stem):
    """Complete a committed publish of `stem` in `folder` (move its files into place), or
    discard an uncommitted one. Returns the names moved into place."""
    staging = staging_dir(folder, stem)
    if not staging.exists():
        return []
    marker = staging / PUBLISHED
    names = json.loads(marker.read_text()) if marker.exists() else []
    for name in names:
        if (staging / name).exists():
            os.replace(staging / name, Path(folder) / name)
    shutil.rmtree(staging, ignore_errors=True)
    return names


def _fsync(path):
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _jsonable(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def card_path(artifact):
    """`NAME.keras` -> `NAME.json` (the card beside it)."""
    return Path(artifact).with_suffix(".json")


def read_card(name_or_path):
    """The card of a saved model, or None when there is none."""
    path = card_path(artifact_path(name_or_path))
    return json.loads(path.read_text()) if path.exists() else None


def check_against_card(path):
    """Check the file at `path` against the sha256 of its card: an `ArtifactError` when they
    differ, a notice on stderr when there is no card to check against."""
    path = Path(path)
    card = card_path(path)
    if not card.exists():
        print(f"notice: {path} has no card ({card.name}) beside it, so its origin and "
              f"integrity cannot be checked; loading it as it is", file=sys.stderr)
        return
    expected = json.loads(card.read_text()).get("sha256")
    if expected and sha256(path) != expected:
        raise ArtifactError(
            f"{path} does not match its card: the file's sha256 differs from {card.name}'s, so "
            f"it was altered or replaced after training (or a publish was interrupted). Restore "
            f"it (`git checkout -- {path}`), retrain it, or load it anyway with verify=False "
            f"(`--no-verify` on the command line).")


def load(name_or_path, compile=True, verify=True):
    """Load a saved model by registered name or by path, always with `safe_mode=True`, after
    checking the file against its card's sha256 (`verify=False` skips the check)."""
    import keras

    import zoo  # noqa: F401  (registers every zoo class for deserialisation)

    path = artifact_path(name_or_path)
    if not path.exists():
        hint = (f" Train it with `python -m training {name_or_path}`." if path.parent ==
                saved_models_dir() else "")
        raise ArtifactError(f"No saved model at {path}.{hint}")
    if not zipfile.is_zipfile(path):
        raise ArtifactError(f"{path} is not a valid .keras archive (truncated or corrupt?). "
                            f"Re-train it or restore it from git (`git checkout -- {path}`).")
    if verify:
        check_against_card(path)
    try:
        with warnings.catch_warnings():
            # models trained on cached encoder features are saved without optimiser state
            # (training.fit._fresh_copy); Keras warns that it has none to restore
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - re-raised with the file named
        raise ArtifactError(f"Could not load {path} as a keras-zoo model: "
                            f"{type(error).__name__}: {error}") from error
