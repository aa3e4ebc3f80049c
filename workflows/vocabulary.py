"""The bot's vocabulary, defined once: button verbs, order moves, timer kinds and chat steps.

Each value is what is stored today (callback data `verb:id[:arg]`, `order_events.action`, the
`timers` ledger's kind, the chat state's name), so live buttons and old rows keep working.
Statuses, roles and urgencies live in workflows/model.py. A test (tests/test_code_quality.py)
fails on a string literal used as a verb or a move anywhere else in workflows/ and handlers/.
"""

from __future__ import annotations

import enum


class Target(enum.StrEnum):
    """What a button's id names."""

    NONE = "none"  # the button carries no id (or only a page number)
    ORDER = "order"
    VISIT = "visit"
    PLACE = "place"  # a community, building, unit or household picked while registering
    CATEGORY = "category"
    NOTICE = "notice"  # notices (issue 17): a notice (通知) waiting for approval


class Verb(enum.StrEnum):
    """A button's verb: the first part of its callback data `verb:id[:arg]`."""

    # A worker's task card and offers.
    ACCEPT = "acc"
    DECLINE = "dec"
    ON_WAY = "way"
    NOTE = "note"
    RESOLVE = "res"
    ESCALATE = "esc"
    CLAIM = "clm"
    HAND_OVER = "hd"  # a dispatcher hands a queued order to a person (the arg)
    # The resident's card of their order.
    SATISFIED = "ok"
    NOT_SATISFIED = "bad"
    RATE = "rate"  # the arg is the number of stars
    SKIP_COMMENT = "skip"
    ADD_INFO = "info"
    CANCEL = "cnl"
    CANCEL_CONFIRMED = "cnlok"
    # The follow-up 回访 and the visits.
    FOLLOWUP_FIXED = "fuy"
    FOLLOWUP_BROKEN = "fun"
    FOLLOWUP_UNSURE = "fuu"
    VISITED = "vv"
    NOT_HOME = "vn"
    NEEDS_HELP = "vh"
    HELP_CATEGORY = "vc"  # the arg is the category
    # Registration pickers and their pages.
    COMMUNITY = "rc"
    BUILDING = "rb"
    UNIT = "ru"
    ROOM = "rh"
    COMMUNITIES_PAGE = "cp"
    BUILDINGS_PAGE = "bp"
    UNITS_PAGE = "up"
    ROOMS_PAGE = "rp"
    LANGUAGE = "lang"
    # The order draft.
    CATEGORY = "nc"
    MEDIA_DONE = "nd"
    URGENCY = "nu"
    DRAFT_OK = "nok"
    DRAFT_CANCEL = "nx"
    # Privacy, and a button that only closes its card.
    FORGET = "fg"
    NOOP = "noop"
    # Supervision (issue 15): look an order up, 督办 from the digest, internal notes.
    LOOKUP = "o"  # show an order and its timeline; the arg is the page of older entries
    CHASE = "chs"  # 催办: the holder is chased
    REASSIGN = "ra"  # 改派: pick another person
    REASSIGN_TO = "rat"  # the person picked (the arg); a reason is asked next
    SUPERVISE_ESCALATE = "sup"  # 上报 by a supervisor or dispatcher; a reason is asked next
    STAFF_NOTE = "sn"  # 备注: an internal note only staff see
    # moves (issue 15): 延期, 挂起, 转办, 退单, duplicates and their followers.
    EXTEND = "ext"  # the holder asks for more time: the new date's choices follow
    EXTEND_BY = "exd"  # the arg is days added to the deadline, or "d" to type a date
    EXTEND_OK = "exy"
    EXTEND_NO = "exn"
    PAUSE = "ps"  # the holder pauses the order: the resume date's choices follow
    PAUSE_FOR = "psd"  # the arg is days until it resumes, or "d" to type a date
    RESUME = "rs"
    TRANSFER = "tf"  # the departments to transfer to follow
    TRANSFER_TO = "tft"  # the arg is the department's id
    RETURN = "rt"
    DUP_SAME = "dps"  # the resident's new order is the same as this open one
    DUP_NEW = "dpn"  # it is not: place it after all
    FOLLOWER_OK = "fok"
    FOLLOWER_BAD = "fbad"
    # behalf (issue 16): staff order for a household or a unit's public area.
    BEHALF_HOUSEHOLD = "bh"  # id: the household
    BEHALF_PLACE = "bp2"  # id: the unit whose public area it is (巡查上报)
    BEHALF_CHANNEL = "bc"  # id: the household; arg: phone or walk_in
    PROXY_INVITE = "fi"  # id: the household a family member is invited to order for
    QUESTION_ANSWER = "qa"  # id: the question (咨询) the grid worker answers
    # behalf2 (issue 16): a building's public area (楼号 alone)
    BEHALF_BUILDING = "bb"  # id: the building's first unit within the staff member's scope
    # infoask (issue 15): the holder asks the resident a question; the resident replies.
    ASK_RESIDENT = "ari"
    RESIDENT_REPLY = "arr"
    # behalf3 (issue 16): a grid's or a community's public area (巡查上报)
    BEHALF_AREA = "ba"  # id: the grid or community
    # rounds (issue 17): the roster of a building head's households, visit notes, key marking.
    ROUND_PAGE = "rnp"  # the arg-less id is the page of not-yet-visited households
    ROUND_HOUSEHOLD = "rnh"  # id: the household; its card with the visit history
    ROUND_LOG = "rnl"  # id: the household; log a visit made now (a note follows)
    VISIT_NOTE = "vnt"  # id: the visit; write its note (民情日志)
    VISIT_PROBLEM = "vpb"  # id: the visit; 发现问题: the categories follow
    PROBLEM_CATEGORY = "vpc"  # id: the visit; arg: the category; the order is placed
    KEY_MARK = "km"  # id: the household; the reason is asked next
    KEY_EVERY = "ke"  # id: the household; arg: the cadence in days
    KEY_APPROVE = "ky"  # id: the key request
    KEY_REFUSE = "kn"  # id: the key request
    ROUND_VISITED = "rnv"  # the id is the page of households visited this month
    # publicity (issue 17): may the order be published with the resident's words (公示)?
    PUBLISH_YES = "puy"
    PUBLISH_NO = "pun"
    # publicity (issue 17): the resolver's time spent; the arg is minutes, or "t" to type them
    TIME_SPENT = "tsp"
    # notices (issue 17): the /notice draft, approval, opting out; a staff group's 认领.
    NOTICE_PLACE = "ntp"  # id: the place the notice goes to, or whose parts are shown
    NOTICE_PAGE = "ntg"  # id: the place whose parts are shown; arg: the page
    NOTICE_AUDIENCE = "nta"  # arg: residents | staff | both
    NOTICE_URGENCY = "ntu"  # arg: urgent | normal
    NOTICE_SEND = "nts"
    NOTICE_DROP = "ntx"
    NOTICE_APPROVE = "nty"  # id: the notice
    NOTICE_REFUSE = "ntn"  # id: the notice
    NOTICE_OFF = "ntoff"  # a resident turns non-urgent notices off
    NOTICE_ON = "nton"  # and on again
    GROUP_CLAIM = "gcl"  # id: the order, claimed from the grid crew's staff group

    @classmethod
    def parse(cls, code: str) -> Verb | None:
        """Return the verb of a button's code, or None for a code no button has."""
        return cls._value2member_map_.get(code)  # type: ignore[return-value]

    @property
    def target(self) -> Target:
        """Return what this verb's id names."""
        return TARGETS.get(self, Target.NONE)

    @property
    def label(self) -> str:
        """Return the catalog key of this verb's button on a workflow's card."""
        return LABELS[self]

    def data(self, *parts: object) -> str:
        """Return the callback data of a button with this verb: 'verb:id[:arg]'."""
        return ":".join([self.value, *(str(p) for p in parts)])


TARGETS: dict[Verb, Target] = {
    **dict.fromkeys(
        (
            Verb.ACCEPT,
            Verb.DECLINE,
            Verb.ON_WAY,
            Verb.NOTE,
            Verb.RESOLVE,
            Verb.ESCALATE,
            Verb.CLAIM,
            Verb.HAND_OVER,
            Verb.SATISFIED,
            Verb.NOT_SATISFIED,
            Verb.RATE,
            Verb.SKIP_COMMENT,
            Verb.ADD_INFO,
            Verb.CANCEL,
            Verb.CANCEL_CONFIRMED,
            Verb.FOLLOWUP_FIXED,
            Verb.FOLLOWUP_BROKEN,
            Verb.FOLLOWUP_UNSURE,
            # moves (issue 15)
            Verb.EXTEND,
            Verb.EXTEND_BY,
            Verb.EXTEND_OK,
            Verb.EXTEND_NO,
            Verb.PAUSE,
            Verb.PAUSE_FOR,
            Verb.RESUME,
            Verb.TRANSFER,
            Verb.TRANSFER_TO,
            Verb.RETURN,
            Verb.DUP_SAME,
            Verb.FOLLOWER_OK,
            Verb.FOLLOWER_BAD,
        ),
        Target.ORDER,
    ),
    **dict.fromkeys(
        (Verb.VISITED, Verb.NOT_HOME, Verb.NEEDS_HELP, Verb.HELP_CATEGORY), Target.VISIT
    ),
    **dict.fromkeys(
        (
            Verb.COMMUNITY,
            Verb.BUILDING,
            Verb.UNIT,
            Verb.ROOM,
            Verb.BUILDINGS_PAGE,
            Verb.UNITS_PAGE,
            Verb.ROOMS_PAGE,
        ),
        Target.PLACE,
    ),
    Verb.CATEGORY: Target.CATEGORY,
    # Supervision (issue 15).
    **dict.fromkeys(
        (
            Verb.LOOKUP,
            Verb.CHASE,
            Verb.REASSIGN,
            Verb.REASSIGN_TO,
            Verb.SUPERVISE_ESCALATE,
            Verb.STAFF_NOTE,
        ),
        Target.ORDER,
    ),
    # infoask (issue 15)
    Verb.ASK_RESIDENT: Target.ORDER,
    Verb.RESIDENT_REPLY: Target.ORDER,
    Verb.BEHALF_AREA: Target.PLACE,
    # rounds (issue 17)
    **dict.fromkeys((Verb.VISIT_NOTE, Verb.VISIT_PROBLEM, Verb.PROBLEM_CATEGORY), Target.VISIT),
    # publicity (issue 17)
    Verb.PUBLISH_YES: Target.ORDER,
    Verb.PUBLISH_NO: Target.ORDER,
    Verb.TIME_SPENT: Target.ORDER,
    # notices (issue 17)
    Verb.NOTICE_PLACE: Target.PLACE,
    Verb.NOTICE_PAGE: Target.PLACE,
    Verb.NOTICE_APPROVE: Target.NOTICE,
    Verb.NOTICE_REFUSE: Target.NOTICE,
    Verb.GROUP_CLAIM: Target.ORDER,
}

# The label of each verb's button on a card a workflow sends (a rating's label is per star).
LABELS: dict[Verb, str] = {
    Verb.ACCEPT: "btn.accept",
    Verb.DECLINE: "btn.decline",
    Verb.ON_WAY: "btn.on_way",
    Verb.NOTE: "btn.note",
    Verb.RESOLVE: "btn.resolve",
    Verb.ESCALATE: "btn.escalate",
    Verb.CLAIM: "btn.claim",
    Verb.HAND_OVER: "btn.dispatch_to",
    Verb.SATISFIED: "btn.satisfied",
    Verb.NOT_SATISFIED: "btn.not_satisfied",
    Verb.SKIP_COMMENT: "btn.skip",
    Verb.ADD_INFO: "btn.add_info",
    Verb.CANCEL: "btn.cancel_order",
    Verb.CANCEL_CONFIRMED: "btn.yes_cancel",
    Verb.FOLLOWUP_FIXED: "btn.followup_yes",
    Verb.FOLLOWUP_BROKEN: "btn.followup_no",
    Verb.FOLLOWUP_UNSURE: "btn.followup_unsure",
    Verb.VISITED: "btn.visited",
    Verb.NOT_HOME: "btn.not_home",
    Verb.NEEDS_HELP: "btn.needs_help",
    Verb.MEDIA_DONE: "btn.media_done",
    Verb.DRAFT_OK: "btn.confirm",
    Verb.DRAFT_CANCEL: "btn.cancel",
    Verb.FORGET: "btn.forget_yes",
    Verb.NOOP: "btn.no",
    # Supervision (issue 15).
    Verb.LOOKUP: "lookup.btn_view",
    Verb.CHASE: "chase.btn",
    Verb.REASSIGN: "reassign.btn",
    Verb.REASSIGN_TO: "reassign.btn_to",
    Verb.SUPERVISE_ESCALATE: "lookup.btn_escalate",
    Verb.STAFF_NOTE: "staffnote.btn",
    # moves (issue 15)
    Verb.EXTEND: "extend.btn_ask",
    Verb.EXTEND_OK: "extend.btn_approve",
    Verb.EXTEND_NO: "extend.btn_refuse",
    Verb.PAUSE: "pause.btn_pause",
    Verb.RESUME: "pause.btn_resume",
    Verb.TRANSFER: "transfer.btn_transfer",
    Verb.RETURN: "transfer.btn_return",
    Verb.DUP_SAME: "dup.btn_same",
    Verb.DUP_NEW: "dup.btn_new",
    Verb.FOLLOWER_OK: "dup.btn_fixed",
    Verb.FOLLOWER_BAD: "dup.btn_not_fixed",
    # behalf (issue 16)
    Verb.QUESTION_ANSWER: "question.answer_button",
    # infoask (issue 15)
    Verb.ASK_RESIDENT: "askinfo.btn_ask",
    Verb.RESIDENT_REPLY: "askinfo.btn_reply",
    # rounds (issue 17)
    Verb.ROUND_LOG: "round.btn_log",
    Verb.VISIT_NOTE: "round.btn_note",
    Verb.VISIT_PROBLEM: "round.btn_problem",
    Verb.KEY_MARK: "round.btn_mark_key",
    Verb.KEY_APPROVE: "round.btn_approve",
    Verb.KEY_REFUSE: "round.btn_refuse",
    # publicity (issue 17)
    Verb.PUBLISH_YES: "pub.btn_yes",
    Verb.PUBLISH_NO: "pub.btn_no",
    # notices (issue 17)
    Verb.NOTICE_APPROVE: "notice.btn_approve",
    Verb.NOTICE_REFUSE: "notice.btn_refuse",
    Verb.NOTICE_OFF: "notice.btn_off",
    Verb.NOTICE_ON: "notice.btn_on",
    Verb.GROUP_CLAIM: "group.btn_claim",
}


class Move(enum.StrEnum):
    """An order's recorded action: a key of workflows/states.py MOVES, kept in order_events."""

    PLACE = "place"  # the resident placed it (its first event; not a move between statuses)
    QUEUE = "queue"
    OFFER = "offer"
    POOL = "pool"
    ACCEPT = "accept"
    CLAIM = "claim"
    DECLINE = "decline"
    ON_WAY = "on_way"
    NOTE = "note"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    CONFIRM = "confirm"
    REOPEN = "reopen"
    CANCEL = "cancel"
    ADD_INFO = "add_info"
    RATE = "rate"
    COMMENT = "comment"
    BREACH_ACCEPT = "breach_accept"
    BREACH_RESOLVE = "breach_resolve"
    AUTOCLOSE = "autoclose"
    WITHDRAW = "withdraw"
    FOLLOWUP = "followup"
    FOLLOWUP_OK = "followup_ok"
    FOLLOWUP_UNSURE = "followup_unsure"
    FOLLOWUP_REOPEN = "followup_reopen"
    # Supervision (issue 15).
    CHASE = "chase"  # 催办: someone chased the holder (target: the holder)
    REASSIGN = "reassign"  # 改派: a dispatcher or supervisor gave it to another person
    SUPERVISE_ESCALATE = "supervise_escalate"  # 上报 by a supervisor or dispatcher
    STAFF_NOTE = "staff_note"  # 备注: an internal note, never shown to the resident
    # moves (issue 15): 延期, 挂起, 转办, 退单, duplicates and merging.
    EXTEND_ASK = "extend_ask"
    EXTEND_OK = "extend_ok"
    EXTEND_NO = "extend_no"
    PAUSE = "pause"
    RESUME = "resume"
    AUTO_RESUME = "auto_resume"
    TRANSFER = "transfer"
    RETURN = "return"
    JOIN = "join"  # a neighbour follows the order (their own report of the same thing)
    MERGE = "merge"  # closed as merged: its resident follows the earlier order
    FOLLOWER_OK = "follower_ok"
    FOLLOWER_BAD = "follower_bad"
    # clocks (issue 15): the queue untouched (the supervisor is told), the pool unclaimed
    # (offered to the grid's workers).
    BREACH_QUEUE = "breach_queue"
    BREACH_POOL = "breach_pool"
    # infoask (issue 15): the holder asked the resident; the resident answered; nobody answered
    # in time (the holder is told and the work goes on).
    ASK_RESIDENT = "ask_resident"
    RESIDENT_ANSWERED = "resident_answered"
    RESIDENT_SILENT = "resident_silent"
    # notices (issue 17): a grid crew member claimed the new order from the staff group.
    GROUP_CLAIM = "group_claim"


class TimerKind(enum.StrEnum):
    """A kind of timer, as the `timers` ledger keeps it (unique by kind, subject, moment)."""

    REMIND_ACCEPT = "remind_accept"
    REMIND_RESOLVE = "remind_resolve"
    BREACH_ACCEPT = "breach_accept"
    BREACH_RESOLVE = "breach_resolve"
    AUTOCLOSE = "autoclose"
    FOLLOWUP = "followup"
    VISIT_OPEN = "visit_open"
    VISIT_MISSED = "visit_missed"
    DIGEST = "digest"
    WEEKLY = "weekly"
    # moves (issue 15)
    RESUME = "resume"  # a paused order's resume date came
    # clocks (issue 15): the reminder and the breach of the queue's and the pool's deadline
    # (one column, `orders.wait_due`; what they do depends on the order's status).
    REMIND_WAIT = "remind_wait"
    BREACH_WAIT = "breach_wait"
    # A 延期 request left undecided (the supervisors are asked to decide).
    BREACH_EXTENSION = "breach_extension"
    # behalf (issue 16): a question's response clock
    QUESTION_REMIND = "question_remind"
    QUESTION_BREACH = "question_breach"
    # infoask (issue 15): the resident reminded of the holder's question; no answer in time
    REMIND_INFO = "remind_info"
    BREACH_INFO = "breach_info"
    # publicity (issue 17): a closed order posted to the channel; the monthly summary
    PUBLISH = "publish"
    MONTHLY = "monthly"
    # notices (issue 17): every copy of a notice was tried; its sender gets the report
    NOTICE_REPORT = "notice_report"


class Step(enum.StrEnum):
    """The name of a chat's step (workflows.model.ChatState.name): what its next message is."""

    NEW = "new"  # the order draft (handlers.ordering.Draft)
    PHONE = "phone"
    INFO = "info"
    REOPEN = "reopen"
    COMMENT = "comment"
    DECLINE = "decline"
    NOTE = "note"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    FOLLOWUP = "followup"
    VISIT_HELP = "visit_help"
    # Supervision (issue 15).
    STAFF_NOTE = "staff_note"
    REASSIGN = "reassign"
    SUPERVISE_ESCALATE = "supervise_escalate"
    # moves (issue 15)
    EXTEND_DATE = "extend_date"
    EXTEND_REASON = "extend_reason"
    PAUSE_DATE = "pause_date"
    PAUSE_REASON = "pause_reason"
    TRANSFER_REASON = "transfer_reason"
    RETURN_REASON = "return_reason"
    # issue 16 (intake): what a stranger wrote before registering, kept to offer it after.
    KEPT = "kept"
    # behalf (issue 16)
    BEHALF = "behalf"  # staff said where: a room or a unit
    BEHALF_CONTACT = "behalf_contact"  # staff give the name and phone of a household without one
    QUESTION = "question"  # the resident's question (咨询)
    QUESTION_ANSWER = "question_answer"  # the worker's answer to it
    # infoask (issue 15)
    ASK_RESIDENT = "ask_resident"  # the holder types the question for the resident
    RESIDENT_ANSWER = "resident_answer"  # the resident types the answer
    # rounds (issue 17)
    VISIT_NOTE = "visit_note"  # the visitor writes the visit's note (民情日志), maybe a photo
    KEY_REASON = "key_reason"  # staff say why a household should be key
    # publicity (issue 17): the resolver types the minutes spent
    TIME_SPENT = "time_spent"
    # notices (issue 17)
    NOTICE_TEXT = "notice_text"  # staff type the notice (words, or a photo with a caption)

    @classmethod
    def parse(cls, name: str) -> Step | None:
        """Return the step a stored chat state names, or None for a name no step has."""
        return cls._value2member_map_.get(name)  # type: ignore[return-value]


# --- behalf (issue 16): how an order came in -------------------------------------------------
class Channel(enum.StrEnum):
    """How an order came in (多途径下单): kept on the order, shown to staff, counted in reports."""

    CHAT = "chat"  # the resident in their own chat
    FAMILY = "family"  # a family member registered as the household's proxy (子女代办)
    PHONE = "phone"  # staff took a phone call
    WALK_IN = "walk_in"  # staff helped someone who came to the office
    PATROL = "patrol"  # staff found it on patrol (巡查上报), for a public place
    GROUP = "group"  # from the grid's group chat
    EXTERNAL = "external"  # from a partner system (12345)
    VISIT = "visit"  # a visitor opened it during a household visit
