"""The bot in a grid's Telegram groups (秒回速办): link, help, a private-chat button, 认领.

In a group the bot answers only what is meant for it: its commands (/link, /unlink, /help),
a message that names it (@bot …) or replies to it, and the buttons of its own posts. Ordinary
chatter gets nothing. Nothing private is ever posted: a resident's words are kept server side
under a short token and offered back in their private chat through a deep link.
"""

from __future__ import annotations

import re

from handlers import intake, registration
from handlers.context import Context
from handlers.events import Button, Keyboard, Send
from handlers.render import reply_notice
from workflows import groups
from workflows.errors import OrderAlreadyTaken
from workflows.model import GroupKind
from workflows.vocabulary import Verb

STAFF_WORD = "staff"


def _for_me(ctx: Context) -> bool:
    """Return whether a command names no bot, or this one ('/help@sandan_bot')."""
    head = (ctx.event.text or "").split(maxsplit=1)[0]
    if "@" not in head:
        return True
    bot = ctx.links.bot_username or ""
    return head.split("@", 1)[1].lower() == bot.lower()


def _mention(ctx: Context) -> re.Pattern[str] | None:
    bot = ctx.links.bot_username
    return None if not bot else re.compile(rf"@{re.escape(bot)}(?![A-Za-z0-9_])", re.IGNORECASE)


def _addressed(ctx: Context) -> bool:
    """Return whether a message names the bot or replies to it."""
    bot = (ctx.links.bot_username or "").lower()
    if ctx.event.reply_to_bot and bot and ctx.event.reply_to_bot.lower() == bot:
        return True
    pattern = _mention(ctx)
    return bool(pattern and ctx.event.text and pattern.search(ctx.event.text))


async def _say(ctx: Context, key: str, buttons: Keyboard = (), **params: object) -> None:
    """Say something in the group: paced through the outbox once the group is linked."""
    message = Send(ctx.event.chat_id, ctx.texts("zh", key, **params), buttons)
    group = await ctx.uow.bulletins.group(ctx.event.chat_id)
    if group is None:
        ctx.send(message)  # one answer to a command in a group the bot knows nothing of
        return
    await ctx.uow.bulletins.post(group, reply_notice(group.linked_by, message))


async def in_group(ctx: Context) -> None:
    """Handle a group's event meant for the bot; leave everything else alone."""
    event = ctx.event
    if event.callback_id is not None:
        await _button(ctx, event.callback_data or "")
        return
    command = event.command
    if command is not None:
        if not _for_me(ctx):
            return
        if command == "link":
            await _link(ctx)
        elif command == "unlink":
            grid = await groups.unlink(ctx.uow, ctx.clock, ctx.person, event.chat_id)
            ctx.send(Send(event.chat_id, ctx.texts("zh", "group.unlinked", grid=grid.names.zh)))
        elif command in ("help", "start"):
            await _say(ctx, "group.help", bot=ctx.links.bot_username or "")
        return
    if event.text and _addressed(ctx):
        await _offer_private(ctx)


async def _link(ctx: Context) -> None:
    words = ctx.event.args.split()
    kind = GroupKind.STAFF if STAFF_WORD in [w.lower() for w in words] else GroupKind.RESIDENTS
    code = next((w for w in words if w.lower() != STAFF_WORD), None)
    grid = await groups.link(ctx.uow, ctx.clock, ctx.person, ctx.event.chat_id, kind, code)
    key = "group.linked_staff" if kind == GroupKind.STAFF else "group.linked"
    await _say(ctx, key, grid=grid.names.zh)


async def _offer_private(ctx: Context) -> None:
    """Meet a resident's words with a button to a private chat, where they become a draft."""
    group = await ctx.uow.bulletins.group(ctx.event.chat_id)
    if group is not None and group.kind == GroupKind.STAFF:
        return  # the crew's own group: their words are for each other
    bot = ctx.links.bot_username
    if not bot:
        await _say(ctx, "group.mention_reply")
        return
    pattern = _mention(ctx)
    text = pattern.sub(" ", ctx.event.text or "") if pattern else ctx.event.text or ""
    link = f"https://t.me/{bot}"
    if text.strip():
        payload = await groups.keep_words(ctx.uow, ctx.clock.now(), text)
        link = f"{link}?start={payload}"
    button = Button(ctx.texts("zh", "group.btn_private"), url=link)
    await _say(ctx, "group.mention_reply", ((button,),))


async def _button(ctx: Context, data: str) -> None:
    code, *args = data.split(":")
    if Verb.parse(code) != Verb.GROUP_CLAIM or len(args) != 1 or not args[0].isdigit():
        ctx.answer("group.private_only", alert=True)
        return
    try:
        order = await groups.claim(ctx.uow, ctx.clock, ctx.person, int(args[0]), ctx.event.chat_id)
    except OrderAlreadyTaken:
        ctx.answer("group.already_claimed", alert=True)
        return
    person = ctx.require()
    ctx.answer("group.claimed_you", number=order.number)
    ctx.edit_pressed(ctx.texts("zh", "group.claimed", number=order.number, worker=person.name), ())


async def start_with_words(ctx: Context) -> None:
    """/start g_…: the words said in a group, offered back here as a request."""
    words = await groups.take_words(ctx.uow, ctx.event.args)
    if words is None:
        ctx.say("group.words_gone")
        if ctx.person is None:
            await registration.start(ctx)
        else:
            await intake.show_help(ctx)
        return
    if ctx.person is None:
        await intake.keep_words(ctx, words)
        await registration.start(ctx)
        return
    if ctx.person.household_id is None:
        ctx.say("hint.free_text")
        return
    ctx.say("group.words_back")
    await intake.offer_draft(ctx, words)
