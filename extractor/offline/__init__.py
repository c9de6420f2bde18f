"""The offline extraction backend: sentences, cues, a small trained detector, dates."""

from extractor.offline.actions import make_action
from extractor.offline.dates import DueDate, find_due
from extractor.offline.extractor import OfflineExtractor
from extractor.offline.model import DetectorModel, default_model
from extractor.offline.sentences import sentences, split_sentences

__all__ = [
    "DetectorModel",
    "DueDate",
    "OfflineExtractor",
    "default_model",
    "find_due",
    "make_action",
    "sentences",
    "split_sentences",
]
