"""A quiet start: TensorFlow's native start-up lines (absl's warning, oneDNN and CUDA probes,
"failed call to cuInit" on machines without a GPU) are not errors, but a newcomer reads them as
such. They are written by C++ straight to file descriptor 2, past Python's `sys.stderr`, so
they are hidden by pointing that descriptor at /dev/null while Keras' backend is imported and
TensorFlow probes its devices. `--verbose` on a command line, or `ZOO_VERBOSE=1`, shows them."""
import contextlib
import os
import sys

VERBOSE_VARIABLE = "ZOO_VERBOSE"


@contextlib.contextmanager
def native_stderr_silenced():
    """Send what native code writes to file descriptor 2 to /dev/null inside the block."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_backend_quietly():
    """Import Keras and, on the TensorFlow backend, let TensorFlow probe its devices, with the
    native start-up lines hidden unless `$ZOO_VERBOSE` is set. Python errors still raise."""
    if os.environ.get(VERBOSE_VARIABLE) or "--verbose" in sys.argv[1:] or "keras" in sys.modules:
        return
    with native_stderr_silenced():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe; devices stay configurable
