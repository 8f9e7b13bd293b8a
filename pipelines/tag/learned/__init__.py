"""The learned transfer decision: candidates (rules' proposals and co-occurrences), their
features, and a trained linear model over them (weights.json, built by `make train`)."""

from .candidates import Candidate, propose
from .features import features, instances
from .model import TransferModel, load_model

__all__ = ["Candidate", "TransferModel", "features", "instances", "load_model", "propose"]
