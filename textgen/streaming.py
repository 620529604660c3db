"""Turns generated token ids into text deltas, as they come, and ends generation
at a stop string.

Decoding one token at a time breaks words and multi-byte characters, so each
step decodes a short window of recent ids and emits only what the window added,
holding back an incomplete character. Text that might be the start of a stop
string is held back too, so what is sent always adds up to the final text.
"""

import time
from collections.abc import Callable
from typing import Any

from transformers.generation.streamers import BaseStreamer

INCOMPLETE = "\ufffd"  # what a tokenizer decodes half a UTF-8 character to


class TextDeltaStreamer(BaseStreamer):
    def __init__(
        self, tokenizer: Any, stop: list[str], on_delta: Callable[[str, int], None]
    ) -> None:
        self.tokenizer = tokenizer
        self.stop = stop
        self.on_delta = on_delta  # (delta, tokens generated so far)
        self.ids: list[int] = []
        self.text = ""
        self.sent = 0  # characters of self.text already passed to on_delta
        self.counted = 0  # tokens on_delta was last told of
        self.stopped_at_stop_string = False
        # When the first new token arrived (time.monotonic()): the end of prefill,
        # so the runner can time prefill and decode apart.
        self.first_token_at: float | None = None
        self._prompt_seen = False
        self._prefix_offset = 0
        self._read_offset = 0

    # BaseStreamer: generate() calls put() with the prompt first, then each new token.
    def put(self, value: Any) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        if self.stopped_at_stop_string:
            return
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()
        self.ids.extend(int(i) for i in value.reshape(-1).tolist())
        self.text += _printable(self._decode_new(final=False))
        self._apply_stop_strings()
        self._send(final=False)

    def end(self) -> None:
        if not self.stopped_at_stop_string:
            self.text += _printable(self._decode_new(final=True))
            self._apply_stop_strings()
        self._send(final=True)
        if self.counted < len(self.ids):
            # The last tokens added no text (a special token, a space the tokenizer
            # drops): the count still reaches its end, so progress ends at 100 %.
            self.on_delta("", len(self.ids))
            self.counted = len(self.ids)

    @property
    def should_stop(self) -> bool:
        return self.stopped_at_stop_string

    def _decode_new(self, final: bool) -> str:
        decode = self.tokenizer.decode
        before = decode(self.ids[self._prefix_offset : self._read_offset], skip_special_tokens=True)
        after = decode(self.ids[self._prefix_offset :], skip_special_tokens=True)
        if len(after) > len(before) and (final or not after.endswith(INCOMPLETE)):
            self._prefix_offset = self._read_offset
            self._read_offset = len(self.ids)
            return after[len(before) :]
        return ""

    def _apply_stop_strings(self) -> None:
        # Search from where a stop string could first start among unsent text.
        longest = max((len(s) for s in self.stop), default=0)
        start = max(0, self.sent - longest)
        hits = [i for i in (self.text.find(s, start) for s in self.stop) if i >= 0]
        if hits:
            self.text = self.text[: min(hits)]
            self.stopped_at_stop_string = True

    def _send(self, final: bool) -> None:
        limit = len(self.text)
        if not final and not self.stopped_at_stop_string:
            limit -= self._held_back()
        if limit > self.sent:
            delta = self.text[self.sent : limit]
            self.sent = limit
            self.counted = len(self.ids)
            self.on_delta(delta, len(self.ids))

    def _held_back(self) -> int:
        """Length of the longest tail of the text that begins some stop string."""
        for size in range(min(len(self.text), max((len(s) for s in self.stop), default=0)), 0, -1):
            tail = self.text[-size:]
            if any(s.startswith(tail) and s != tail for s in self.stop):
                return size
        return 0


def _printable(text: str) -> str:
    # NUL is never meant as text, and PostgreSQL cannot store it in JSON or text.
    return text.replace("\x00", "")
