"""Training data for the audio-visual DiT: shards prepared from talking-face clips (issue #5)."""

from .shards import (
    FrameBatchSampler,
    ShardDataset,
    collate,
    language_hint,
    load_index,
    prepare,
    segment_words,
    speaker_of,
    split_train_val,
)

__all__ = ["FrameBatchSampler", "ShardDataset", "collate", "language_hint", "load_index", "prepare",
           "segment_words", "speaker_of", "split_train_val"]
