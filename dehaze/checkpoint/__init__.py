"""Atomic, pickle-free checkpoints: generator weights as safetensors, training state loaded with weights_only.

- :mod:`.safetensors_header`: reading a safetensors header from an untrusted file, with bounds;
- :mod:`.generator`: the shipped models' paths, saving and loading generator files;
- :mod:`.training_state`: :class:`TrainingState`, the one layout of a run's resumable state.
"""

from dehaze.checkpoint.generator import (
    DEFAULT_CHECKPOINT_NAME,
    DEFAULT_RGB_CHECKPOINT_NAME,
    FORMAT_TAG,
    GeneratorHeader,
    default_checkpoint_path,
    load_generator,
    read_generator_file,
    read_generator_header,
    save_generator,
    shipped_checkpoint_files,
    shipped_default_path,
)
from dehaze.checkpoint.safetensors_header import (
    MAX_CHECKPOINT_BYTES,
    MAX_HEADER_BYTES,
    TensorSpec,
    describe_mismatch,
    read_safetensors_header,
)
from dehaze.checkpoint.training_state import (
    MAX_TRAINING_STATE_BYTES,
    TRAINING_STATE_KEYS,
    TrainingState,
    load_training_state,
    save_training_state,
    validate_training_state,
)

__all__ = [
    "DEFAULT_CHECKPOINT_NAME",
    "DEFAULT_RGB_CHECKPOINT_NAME",
    "FORMAT_TAG",
    "MAX_CHECKPOINT_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_TRAINING_STATE_BYTES",
    "TRAINING_STATE_KEYS",
    "GeneratorHeader",
    "TensorSpec",
    "TrainingState",
    "default_checkpoint_path",
    "shipped_checkpoint_files",
    "shipped_default_path",
    "describe_mismatch",
    "load_generator",
    "load_training_state",
    "read_generator_file",
    "read_generator_header",
    "read_safetensors_header",
    "save_generator",
    "save_training_state",
    "validate_training_state",
]
