"""Token-by-token streaming out of the dynamic batcher.

One `generate` call runs a whole batch; transformers hands every decoding step's new tokens,
one per row, to a streamer (`BatchStreamer.put`, shape ``(batch,)``). Each streaming row turns
its tokens into text with `RowDecoder` and passes the *stable* text so far to its request's
`StreamSink`, which sends only what is new to the client's event loop. Stable means: decoded
without a dangling UTF-8 fragment, leading and trailing white space held back (the final text
is stripped), no partial stop string, no partial prepend phrase (impressions drop a leading
"Impression:"). So the concatenated deltas are a prefix of the final text at every step, and
`StreamSink.finish` sends the rest: streamed text == non-streamed text.

A client that disconnects sets its job's ``cancel`` event; `cancelled_rows` (a transformers
stopping criterion) then ends that row, and the `generate` call ends as soon as every row is
finished or cancelled.

>>> sent = []
>>> sink = StreamSink(sent.append)
>>> sink.offer("No acute"); sink.offer("No acute process"); sink.finish("No acute process.")
>>> sent
['No acute', ' process', '.']
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from radllama.core.prompts import PREPEND_PHRASES

logger = logging.getLogger("radllama.serving")

_PREPENDS_LOWER = tuple(p.lower() for p in PREPEND_PHRASES)


class StreamSink:
    """The text a streaming request has been sent so far; `emit(delta)` sends more.

    It lives with the job, not the batch, so a batch retried one request at a time (after a
    failure) does not send the same text twice: greedy decoding repeats the same prefix.
    """

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self.sent = ""
        self.diverged = False

    def offer(self, text: str) -> None:
        """`text` is stable so far: send what extends what was sent."""
        if text.startswith(self.sent) and len(text) > len(self.sent):
            delta, self.sent = text[len(self.sent) :], text
            self._emit(delta)

    def finish(self, final: str) -> None:
        """Send the rest of the final text; flag a stream whose sent text is not its prefix."""
        if not final.startswith(self.sent):
            # Only sampling after a retried batch can get here; the client is told by an error
            # event rather than left with a wrong text.
            self.diverged = True
            logger.warning("stream diverged from the final text (%d chars sent)", len(self.sent))
            return
        self.offer(final)


class RowDecoder:
    """New token ids of one batch row -> stable text for its `StreamSink`."""

    def __init__(
        self,
        tokenizer,
        eos_ids: Sequence[int],
        sink: StreamSink,
        stops: Sequence[str] = (),
        strip_prepend: bool = False,
    ) -> None:
        self.tokenizer, self.eos_ids, self.sink = tokenizer, frozenset(eos_ids), sink
        self.stops = tuple(stops)
        self.strip_prepend = strip_prepend
        self.ids: list[int] = []
        self.done = False

    def push(self, token_id: int) -> None:
        if self.done:
            return
        if token_id in self.eos_ids:
            self.done = True  # later tokens of this row are padding
            return
        self.ids.append(token_id)
        self.sink.offer(self.stable_text())

    def stable_text(self) -> str:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # a multi-byte character split across tokens
            return self.sink.sent
        return stable_text(text, self.stops, self.strip_prepend)


def stable_text(text: str, stops: Sequence[str] = (), strip_prepend: bool = False) -> str:
    """The part of the text generated so far that the final text will start with.

    >>> stable_text(" No acute process. END here", stops=["END"])
    'No acute process.'
    >>> stable_text(" No acute process. E", stops=["END"])  # "E" may begin "END": held back
    'No acute process.'
    >>> stable_text("Impression: Normal", strip_prepend=True)
    'Normal'
    """
    text = text.strip()
    for stop in stops:
        if stop in text:
            return text[: text.find(stop)].rstrip()
    # Hold back a tail that could be the start of a stop string.
    hold = max((len(s) - 1 for s in stops), default=0)
    if hold:
        text = text[: max(0, len(text) - hold)].rstrip()
    if strip_prepend:
        text = _without_prepend(text)
    return text


def _without_prepend(text: str) -> str:
    from radllama.core.prompts import strip_prepend

    lowered = text.lower()
    if any(phrase.startswith(lowered) for phrase in _PREPENDS_LOWER):
        return ""  # maybe "Impressi..." of "Impression:": wait for more
    return strip_prepend(text)


class BatchStreamer:
    """A transformers streamer (`put`/`end`) that fans a batch's tokens out to its rows.

    `generate` first puts the prompt ids ``(batch, width)``, then one ``(batch,)`` tensor per step.
    Rows that do not stream are ``None``.
    """

    def __init__(self, rows: Sequence[RowDecoder | None]) -> None:
        self.rows = list(rows)
        self._prompt_seen = False

    def put(self, value) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        for row, token in zip(self.rows, value.reshape(-1).tolist(), strict=True):
            if row is not None:
                row.push(int(token))

    def end(self) -> None:
        pass


def cancelled_rows(events: Sequence[threading.Event]):
    """A transformers stopping criterion: rows whose request was cancelled (client gone,
    timed out) stop; the others go on."""
    import torch
    from transformers import StoppingCriteria

    class CancelledRows(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            flags = [event.is_set() for event in events]
            return torch.tensor(flags, dtype=torch.bool, device=input_ids.device)

    return CancelledRows()
