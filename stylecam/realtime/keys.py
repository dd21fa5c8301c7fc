"""Hot keys: which key does what, independent of any window toolkit (testable without a display).

Keys are plain strings: a printable character (``"n"``, ``"+"``, ``"3"``) or ``"escape"``. Toolkits translate
their events with :func:`key_from_tk` or :func:`key_from_terminal`; :class:`KeyHandler` turns keys into calls on
a :class:`Controllable` (the live session).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

STRENGTH_STEP = 0.1
BLEND_STEP = 0.1


@dataclass(frozen=True)
class Action:
    """What a key asks for; ``index`` is the 0-based style for ``select_style``."""

    name: str
    index: int | None = None


NEXT_STYLE = Action("next_style")
PREV_STYLE = Action("prev_style")
STRONGER = Action("stronger")
WEAKER = Action("weaker")
TOGGLE_COLOR = Action("toggle_color")
TOGGLE_SMOOTHING = Action("toggle_smoothing")
SNAPSHOT = Action("snapshot")
TOGGLE_RECORDING = Action("toggle_recording")
TOGGLE_OVERLAY = Action("toggle_overlay")
CYCLE_BLEND = Action("cycle_blend")
MORE_BLEND = Action("more_blend")
LESS_BLEND = Action("less_blend")
QUIT = Action("quit")

KEYMAP: dict[str, Action] = {
    "n": NEXT_STYLE, "p": PREV_STYLE,
    "+": STRONGER, "=": STRONGER, "-": WEAKER, "_": WEAKER,
    "b": CYCLE_BLEND, "]": MORE_BLEND, "[": LESS_BLEND,
    "c": TOGGLE_COLOR, "t": TOGGLE_SMOOTHING, "s": SNAPSHOT, "r": TOGGLE_RECORDING, "h": TOGGLE_OVERLAY,
    "q": QUIT, "escape": QUIT,
    **{str(i): Action("select_style", i - 1) for i in range(1, 10)},
}

HELP = ("keys: n/p next/previous style, 1-9 pick a style, b blend in another style of the network, [/] blend "
        "amount, +/- strength, c colour preservation, "
        "t temporal smoothing, s snapshot, r record, h overlay, q or Esc quit")

# Tk keysyms that are not the character they type (the numeric keypad, named punctuation).
_TK_NAMES = {
    "escape": "escape", "plus": "+", "equal": "=", "minus": "-", "underscore": "_",
    "bracketleft": "[", "bracketright": "]",
    "kp_add": "+", "kp_subtract": "-", **{f"kp_{i}": str(i) for i in range(10)},
}


def action_for(key: str) -> Action | None:
    """The action of a key (letters case-insensitive), None for keys without one."""
    if not key:
        return None
    return KEYMAP.get(key if len(key) == 1 and not key.isalpha() else key.lower())


def key_from_tk(keysym: str, char: str) -> str:
    """A Tk key event (``event.keysym``, ``event.char``) as a key string."""
    name = _TK_NAMES.get(keysym.lower())
    if name is not None:
        return name
    if char and char.isprintable():
        return char
    return keysym.lower() if len(keysym) == 1 else ""


def key_from_terminal(char: str) -> str:
    """A character read from a terminal in cbreak mode as a key string (a lone ESC is ``escape``)."""
    return "escape" if char == "\x1b" else char


class Controllable(Protocol):
    """What hot keys act on."""

    def next_style(self, step: int) -> None: ...
    def select_style(self, index: int) -> None: ...
    def change_strength(self, delta: float) -> None: ...
    def cycle_blend(self) -> None: ...
    def change_blend(self, delta: float) -> None: ...
    def toggle_color(self) -> None: ...
    def toggle_smoothing(self) -> None: ...
    def snapshot(self) -> None: ...
    def toggle_recording(self) -> None: ...
    def toggle_overlay(self) -> None: ...
    def quit(self) -> None: ...


class KeyHandler:
    """Dispatches keys to a :class:`Controllable`."""

    def __init__(self, target: Controllable) -> None:
        self.target = target

    def handle(self, key: str) -> Action | None:
        """Act on one key; returns the action taken (None if the key means nothing)."""
        action = action_for(key)
        if action is None:
            return None
        target = self.target
        if action is NEXT_STYLE:
            target.next_style(1)
        elif action is PREV_STYLE:
            target.next_style(-1)
        elif action.name == "select_style":
            assert action.index is not None
            target.select_style(action.index)
        elif action is STRONGER:
            target.change_strength(STRENGTH_STEP)
        elif action is WEAKER:
            target.change_strength(-STRENGTH_STEP)
        elif action is MORE_BLEND:
            target.change_blend(BLEND_STEP)
        elif action is LESS_BLEND:
            target.change_blend(-BLEND_STEP)
        else:
            getattr(target, action.name)()
        return action
