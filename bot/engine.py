"""The channel-agnostic conversation engine.

A journey is a set of named nodes. A node says what to ask (`prompt`), what to do with the answer
(`handle`: returns the next node's name, `BACK`, `MENU`, or None to ask again) and may redirect on
entry (`on_enter`, e.g. to verification before a personal feature). Navigation is the engine's:
`0` back, `00` main menu, `98` next page (on a free-input screen only an exact `0`/`00` navigates).
Adapters call `Engine.turn` with the citizen's input and render the returned prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.prompt import Option, Prompt
from bot.state import Conversation
from chumnuoy.digits import to_ascii_digits
from chumnuoy.i18n import translate

if TYPE_CHECKING:
    from bot.services import Services
    from portal.services.identity import Glance

BACK, MENU = "@back", "@menu"
NEXT_PAGE, BACK_KEY, MENU_KEY = "98", "0", "00"
FIRST_CONTACT = frozenset({"language_first", "consent"})
TRANSIENT = FIRST_CONTACT | {"verify_dob", "verify_choose"}
"""Nodes `0` never returns to."""

MSG_WRONG_CHOICE = "Wrong number. Choose again."


@dataclass
class Context:
    conv: Conversation
    channel: str
    """ussd | sms | telegram"""
    address: str
    session_id: str | None
    services: Services
    now: datetime
    notice: str = ""

    @property
    def locale(self) -> str:
        return self.conv.locale

    def t(self, msgid: str, /, **params: object) -> str:
        return translate(self.conv.locale, msgid, **params)

    def say(self, msgid: str, /, **params: object) -> None:
        """Show a notice line above the next prompt."""
        self.notice = self.t(msgid, **params)


PromptFn = Callable[[Context], Prompt]
HandleFn = Callable[[Context, str], "str | None"]
EnterFn = Callable[[Context], "str | None"]


@dataclass(frozen=True)
class Node:
    name: str
    prompt: PromptFn
    handle: HandleFn | None = None
    on_text: HandleFn | None = None
    """Free text typed on an option screen (SMS/Telegram only): e.g. the NLU on the main menu."""
    on_enter: EnterFn | None = None
    """Runs when the node is entered; returns another node's name to redirect, or None to stay."""


@dataclass
class Journeys:
    nodes: dict[str, Node] = field(default_factory=dict)

    def add(self, node: Node) -> Node:
        if node.name in self.nodes:
            raise ValueError(f"duplicate node {node.name}")
        self.nodes[node.name] = node
        return node

    def menu(self, name: str, title: str, items: list[tuple[str, str]], *, root: bool = False) -> Node:
        """A menu node: `items` are (label msgid, target node); `title` a msgid (may be "")."""

        def prompt(ctx: Context) -> Prompt:
            return Prompt(ctx.t(title) if title else "",
                          tuple(Option(target, ctx.t(label)) for label, target in items), root=root)

        return self.add(Node(name, prompt, handle=lambda _ctx, value: value))


class Engine:
    def __init__(self, journeys: Journeys, main_menu: str = "menu") -> None:
        self.journeys = journeys
        self.main_menu = main_menu

    def node(self, name: str) -> Node:
        return self.journeys.nodes[name]

    def first_node(self, ctx: Context, glance: Glance | None = None) -> str:
        """Where a new conversation starts: the bilingual language choice, consent, or the menu.
        `glance` (language and consent read in one query) spares loading the identity."""
        language = glance.language if glance is not None else ctx.services.identity.language
        if not language:
            return "language_first"
        ctx.conv.locale = language
        if not (glance.consented if glance is not None else ctx.services.has_consented()):
            return "consent"
        return self.main_menu

    def start(self, ctx: Context, glance: Glance | None = None) -> Prompt:
        ctx.conv.node = self.first_node(ctx, glance)
        ctx.conv.stack = []
        return self.enter(ctx, ctx.conv.node, push=False)

    def show(self, ctx: Context) -> Prompt:
        prompt = self.node(ctx.conv.node).prompt(ctx)
        if ctx.notice:
            prompt = Prompt(**{**prompt.__dict__, "notice": ctx.notice})
        return prompt

    def enter(self, ctx: Context, target: str, *, push: bool = True) -> Prompt:
        """Go to `target` (following redirects), remembering where we were for `0`."""
        current = ctx.conv.node
        for _hop in range(8):
            node = self.node(target)
            redirect = node.on_enter(ctx) if node.on_enter else None
            if redirect is None or redirect == target:
                break
            target = redirect
        if target == self.main_menu:
            ctx.conv.stack = []
        elif push and current != target and current not in TRANSIENT:
            ctx.conv.stack.append(current)
        ctx.conv.node = target
        ctx.conv.page = 0
        return self.show(ctx)

    def go_back(self, ctx: Context) -> Prompt:
        if ctx.conv.node in FIRST_CONTACT:
            return self.show(ctx)
        previous = ctx.conv.stack.pop() if ctx.conv.stack else self.main_menu
        ctx.conv.node = previous
        ctx.conv.page = 0
        return self.show(ctx)

    def go_menu(self, ctx: Context) -> Prompt:
        if ctx.conv.node in FIRST_CONTACT:
            return self.show(ctx)
        ctx.conv.stack = []
        return self.enter(ctx, self.main_menu, push=False)

    def turn(self, ctx: Context, raw: str) -> Prompt:
        """Handle one input on the current node and return what to show next."""
        node = self.node(ctx.conv.node)
        text = raw.strip()
        key = to_ascii_digits(text)
        current = node.prompt(ctx)
        if current.end:  # a finished conversation continues from the main menu (SMS)
            ctx.conv.node, ctx.conv.stack = self.main_menu, []
            node, current = self.node(self.main_menu), self.node(self.main_menu).prompt(ctx)
        if key == MENU_KEY:
            return self.go_menu(ctx)
        if key == BACK_KEY:
            return self.go_back(ctx)
        if current.free_input:
            target = node.handle(ctx, text) if node.handle else None
            return self._follow(ctx, target)
        if key == NEXT_PAGE:
            ctx.conv.page += 1
            return self.show(ctx)
        if key.isascii() and key.isdigit() and len(key) <= 3 and 1 <= int(key) <= len(current.options):
            value = current.options[int(key) - 1].value
            target = node.handle(ctx, value) if node.handle else value
            return self._follow(ctx, target)
        if node.on_text and ctx.channel != "ussd" and text and not key.isdigit():
            return self._follow(ctx, node.on_text(ctx, text))
        ctx.say(MSG_WRONG_CHOICE)
        return self.show(ctx)

    def _follow(self, ctx: Context, target: str | None) -> Prompt:
        if target is None:
            return self.show(ctx)
        if target == BACK:
            return self.go_back(ctx)
        if target == MENU:
            return self.go_menu(ctx)
        return self.enter(ctx, target)
