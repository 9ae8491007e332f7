"""Saved models and their cards: atomic writes, loading by name or path, sha256 checks."""
import contextlib
import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

SAVED_MODELS_VARIABLE = "ZOO_SAVED_MODELS"


class ArtifactError(ValueError):
    """A saved model that is missing, corrupt, or not a keras-zoo model."""


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
def atomic_path(target):
    """Yield a temporary path beside `target` (same suffix); on success it replaces `target` in
    one rename, on any error it is deleted and `target` is left as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}",
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


def load(name_or_path, compile=True):
    """Load a saved model by registered name or by path, always with `safe_mode=True`."""
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
    try:
        with warnings.catch_warnings():
            # models trained on cached encoder features are saved without optimiser state
            # (training.fit._fresh_copy); Keras warns that it has none to restore
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - re-raised with the file named
        raise ArtifactError(f"Could not load {path} as a keras-zoo model: "
                            f"{type(error).__name__}: {error}") from error
