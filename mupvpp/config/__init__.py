"""Intent files: YAML -> validated :class:`mupvpp.model.Intent`."""

from mupvpp.config.loader import load_intent, load_intent_text
from mupvpp.config.validate import check_intent, validate_intent

__all__ = ["check_intent", "load_intent", "load_intent_text", "validate_intent"]
