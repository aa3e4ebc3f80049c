"""The transcript: every visible event of the conversations, as readable lines."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from bot.emulator.records import InlineButton, TranscriptLine

log = logging.getLogger(__name__)


class Transcript:
    """The lines so far, and a hook that sees each new one."""

    def __init__(self, on_line: Callable[[TranscriptLine], None] | None) -> None:
        self.lines: list[TranscriptLine] = []
        self.on_line = on_line

    def add(
        self,
        chat_id: int,
        who: str,
        kind: str,
        text: str = "",
        *,
        to: str = "bot",
        buttons: list[list[InlineButton]] | None = None,
        keyboard: list[list[str]] | None = None,
        pressed: str | None = None,
        edited: bool = False,
        alert: bool = False,
        message_id: int | None = None,
    ) -> None:
        """Append a line and show it to the ``on_line`` hook."""
        line = TranscriptLine(
            time=time.time(),
            chat_id=chat_id,
            who=who,
            kind=kind,
            text=text,
            to=to,
            buttons=tuple(tuple(b.text for b in row) for row in buttons or []),
            keyboard=tuple(tuple(row) for row in keyboard or []),
            pressed=pressed,
            edited=edited,
            alert=alert,
            message_id=message_id,
        )
        self.lines.append(line)
        if self.on_line is not None:
            try:
                self.on_line(line)
            except Exception:
                log.exception("on_line hook failed")

    def render(self, lines: Sequence[TranscriptLine] | None = None) -> str:
        """The transcript (or the given lines) as readable text."""
        return "\n".join(line.render() for line in (self.lines if lines is None else lines))
