"""Rasa 3.6 tokenizer component for Khmer: khmercut's CRF on Khmer runs, whitespace elsewhere.

Rasa's WhitespaceTokenizer returns an unspaced Khmer sentence as one token. Messages reach the
server already normalised by the app (nlu.normalize on Python 3.11), so this only segments. Loaded
from `nlu/rasa` on PYTHONPATH (nlu/rasa_backend.py sets it) as `khmer_tokenizer.KhmerTokenizer`.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

_RUN = re.compile(r"[\u1780-\u17ff]+|[^\s\u1780-\u17ff]+")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class KhmerTokenizer(Tokenizer):
    """Splits on whitespace, then segments each Khmer run into words with khmercut."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intent_tokenization_flag": False, "intent_split_symbol": "_", "token_pattern": None,
                "prefix_separator_symbol": None}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> KhmerTokenizer:
        return cls(config)

    @staticmethod
    def required_packages() -> list[str]:
        return ["khmercut"]

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        import khmercut

        text = message.get(attribute) or ""
        tokens: list[Token] = []
        for run in _RUN.finditer(text):
            chunk, position = run.group(), run.start()
            pieces = khmercut.tokenize(chunk) if "\u1780" <= chunk[0] <= "\u17ff" else [chunk]
            for piece in pieces:
                if not piece.strip() or piece == "\u200b":
                    continue
                start = text.find(piece, position)
                if start < 0:
                    continue
                tokens.append(Token(piece, start))
                position = start + len(piece)
        return self._apply_token_pattern(tokens)
