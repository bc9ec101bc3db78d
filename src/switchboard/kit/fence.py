"""A fence for data that reaches a model from outside its instructions (an event, an application's context).

The data may say anything, "ignore the above" included, so it is passed between a begin and an end line carrying
a random boundary made for this piece of data, after a one-line label that says what the data is and that it must
not be obeyed. The data cannot close the fence early: it was written before the boundary existed, and a boundary
that happens to occur in it is drawn again.

The begin line is `BEGIN_UNTRUSTED_<WHAT>_<boundary>`, the end line `END_UNTRUSTED_<WHAT>_<boundary>`: `what` names
the kind of data (EVENT, CONTEXT), so one kind of fence is never read as another.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Fence:
    what: str  # the kind of data, in capitals: EVENT, CONTEXT

    @property
    def begin(self) -> str:
        return f"BEGIN_UNTRUSTED_{self.what}"

    @property
    def end(self) -> str:
        return f"END_UNTRUSTED_{self.what}"

    def wrap(self, data: str, label: Callable[[str, str], str]) -> str:
        """The label (made from the begin and end lines it must name), then the fenced data."""
        boundary = boundary_absent_from(data)
        begin, end = f"{self.begin}_{boundary}", f"{self.end}_{boundary}"
        return f"{label(begin, end)}\n{begin}\n{data}\n{end}"

    def trailing(self, text: str) -> tuple[str, str] | None:
        """`text` as (what comes before the label, the fenced data) when it ends with a fence of this kind made
        by `wrap` after a blank line; None otherwise."""
        fenced = self._trailing.search(text)
        if fenced is None:
            return None
        return text[: fenced.start()], fenced.group(2)

    def whole(self, text: str) -> str | None:
        """The fenced data when `text` is exactly what `wrap` made (a label line, then the fence); else None."""
        fenced = self._whole.fullmatch(text)
        return fenced.group(2) if fenced else None

    @cached_property
    def _trailing(self) -> re.Pattern[str]:
        # The label (one line), the begin line, the data, the end line repeating the begin line's boundary, at the
        # very end of the text.
        return re.compile(rf"\n\n[^\n]*\n{self.begin}_([0-9a-f]{{24}})\n(.*)\n{self.end}_\1\Z", re.DOTALL)

    @cached_property
    def _whole(self) -> re.Pattern[str]:
        return re.compile(rf"[^\n]*\n{self.begin}_([0-9a-f]{{24}})\n(.*)\n{self.end}_\1", re.DOTALL)


def boundary_absent_from(text: str) -> str:
    while True:
        boundary = secrets.token_hex(12)
        if boundary not in text:
            return boundary
