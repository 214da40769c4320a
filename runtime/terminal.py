"""Whatever a tool prints, writes to stderr or logs reaches the terminal redacted.

Tools run in the runtime's process, so their ``print``, ``sys.stderr.write`` and
``logging`` output would go straight to the terminal. While an agent is loaded,
:func:`redacted_terminal` puts a redacting writer in front of ``sys.stdout`` and
``sys.stderr`` (logging's stream handlers, and its last-resort handler, write to those
objects too). Output is held until a line is complete, so a secret written in two pieces
is still matched whole; a line longer than ``LINE_LIMIT`` is passed on in pieces.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

LINE_LIMIT = 65536


class RedactingStream:
    """A text stream that redacts each complete line before passing it on."""

    def __init__(self, target: TextIO, redact: Callable[[str], str]) -> None:
        self._target = target
        self._redact = redact
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            complete, _, self._pending = self._pending.rpartition("\n")
            self._target.write(self._redact(complete + "\n"))
        elif len(self._pending) > LINE_LIMIT:
            self._target.write(self._redact(self._pending))
            self._pending = ""
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        # A partial line stays held (flushing it could split a secret); the target is flushed.
        self._target.flush()

    def drain(self) -> None:
        if self._pending:
            self._target.write(self._redact(self._pending))
            self._pending = ""
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._target, "encoding", "utf-8")

    def __getattr__(self, name: str):  # anything else a caller may ask of a text stream
        return getattr(self._target, name)


@contextmanager
def redacted_terminal(redact: Callable[[str], str]) -> Iterator[None]:
    """Route stdout, stderr and logging output through ``redact`` for the block."""
    saved_out, saved_err = sys.stdout, sys.stderr
    out, err = RedactingStream(saved_out, redact), RedactingStream(saved_err, redact)
    repointed: list[tuple[logging.StreamHandler, TextIO]] = []
    for handler in _stream_handlers():
        if isinstance(getattr(type(handler), "stream", None), property):
            continue  # logging's last-resort handler looks sys.stderr up on every record
        if handler.stream is saved_out or handler.stream is saved_err:
            repointed.append((handler, handler.stream))
            handler.setStream(out if handler.stream is saved_out else err)
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        out.drain()
        err.drain()
        sys.stdout, sys.stderr = saved_out, saved_err
        for handler, stream in repointed:
            handler.setStream(stream)


def _stream_handlers() -> list[logging.StreamHandler]:
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    return [
        h for logger in loggers for h in logger.handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]
