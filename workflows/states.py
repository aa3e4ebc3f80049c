"""The order state machine: one table of allowed moves, checked in one function."""

from __future__ import annotations

from workflows.cards import retire_spent_cards
from workflows.errors import DomainError, StaleAction
from workflows.model import OPEN_STATUSES, Order, OrderChanges, OrderEvent
from workflows.model import OrderStatus as S
from workflows.ports import Clock, UnitOfWork
from workflows.vocabulary import Move

# action -> (statuses it may start from, status it leads to); None keeps the status.
MOVES: dict[Move, tuple[frozenset[S], S | None]] = {
    Move.QUEUE: (frozenset({S.QUEUED, S.OFFERED, S.POOL, S.ACCEPTED, S.ON_WAY}), S.QUEUED),
    Move.OFFER: (frozenset({S.QUEUED, S.OFFERED, S.POOL, S.ACCEPTED, S.ON_WAY}), S.OFFERED),
    Move.POOL: (frozenset({S.QUEUED}), S.POOL),
    Move.ACCEPT: (frozenset({S.OFFERED}), S.ACCEPTED),
    Move.CLAIM: (frozenset({S.POOL}), S.ACCEPTED),
    Move.DECLINE: (frozenset({S.OFFERED}), None),
    Move.ON_WAY: (frozenset({S.ACCEPTED}), S.ON_WAY),
    Move.NOTE: (frozenset({S.ACCEPTED, S.ON_WAY}), None),
    Move.RESOLVE: (frozenset({S.ACCEPTED, S.ON_WAY}), S.RESOLVED),
    Move.ESCALATE: (frozenset({S.ACCEPTED, S.ON_WAY}), None),
    Move.CONFIRM: (frozenset({S.RESOLVED}), S.CLOSED),
    Move.REOPEN: (frozenset({S.RESOLVED}), S.ACCEPTED),
    Move.CANCEL: (frozenset({S.QUEUED, S.OFFERED, S.POOL, S.ACCEPTED, S.ON_WAY}), S.CANCELLED),
    Move.ADD_INFO: (frozenset({S.QUEUED, S.OFFERED, S.POOL, S.ACCEPTED, S.ON_WAY}), None),
    Move.RATE: (frozenset({S.CLOSED}), None),
    Move.COMMENT: (frozenset({S.CLOSED}), None),
    # Timers (no actor): a lapsed offer, a missed resolution deadline, no confirmation in time.
    Move.BREACH_ACCEPT: (frozenset({S.OFFERED}), None),
    Move.BREACH_RESOLVE: (frozenset({S.ACCEPTED, S.ON_WAY}), None),
    Move.AUTOCLOSE: (frozenset({S.RESOLVED}), S.CLOSED),
    # The organisation file took the holder's role away: the work goes back to dispatch.
    Move.WITHDRAW: (frozenset({S.ACCEPTED, S.ON_WAY}), S.QUEUED),
    # The follow-up 回访 some days after closing: asked, answered, or reopened to the worker.
    Move.FOLLOWUP: (frozenset({S.CLOSED}), None),
    Move.FOLLOWUP_OK: (frozenset({S.CLOSED}), None),
    Move.FOLLOWUP_UNSURE: (frozenset({S.CLOSED}), None),
    Move.FOLLOWUP_REOPEN: (frozenset({S.CLOSED}), S.ACCEPTED),
    # Supervision (issue 15): 催办, 改派 (to another person, as an offer), 上报, internal notes.
    Move.CHASE: (frozenset({S.QUEUED, S.OFFERED, S.POOL, S.ACCEPTED, S.ON_WAY}), None),
    Move.REASSIGN: (frozenset({S.QUEUED, S.OFFERED, S.POOL, S.ACCEPTED, S.ON_WAY}), S.OFFERED),
    Move.SUPERVISE_ESCALATE: (frozenset({S.OFFERED, S.ACCEPTED, S.ON_WAY}), None),
    Move.STAFF_NOTE: (
        frozenset({S.QUEUED, S.OFFERED, S.POOL, S.ACCEPTED, S.ON_WAY, S.RESOLVED}),
        None,
    ),
    # moves (issue 15). 延期: asked by the holder, decided by the dispatcher or supervisor.
    Move.EXTEND_ASK: (frozenset({S.ACCEPTED, S.ON_WAY}), None),
    Move.EXTEND_OK: (frozenset({S.ACCEPTED, S.ON_WAY}), None),
    Move.EXTEND_NO: (frozenset({S.ACCEPTED, S.ON_WAY}), None),
    # 挂起: waiting on a third party until a date; resumed by hand or when the date comes.
    Move.PAUSE: (frozenset({S.ACCEPTED, S.ON_WAY}), S.PAUSED),
    Move.RESUME: (frozenset({S.PAUSED}), S.ACCEPTED),
    Move.AUTO_RESUME: (frozenset({S.PAUSED}), S.ACCEPTED),
    # 转办 to another department's liaison (offered; queued when it has none); 退单 to dispatch.
    Move.TRANSFER: (frozenset({S.QUEUED, S.OFFERED, S.ACCEPTED, S.ON_WAY}), S.OFFERED),
    Move.RETURN: (frozenset({S.OFFERED, S.ACCEPTED, S.ON_WAY}), S.QUEUED),
    # Duplicates: a neighbour joins as a follower; staff merge a later order into an earlier
    # one (closed as merged); a follower answers the confirmation question.
    Move.JOIN: (OPEN_STATUSES, None),
    Move.MERGE: (OPEN_STATUSES, S.CLOSED),
    Move.FOLLOWER_OK: (frozenset({S.RESOLVED, S.CLOSED}), None),
    Move.FOLLOWER_BAD: (frozenset({S.RESOLVED, S.CLOSED}), None),
    # clocks (issue 15): the queue's deadline passed (the supervisor is told; it stays queued);
    # the pool's passed (offered to a grid worker as a normal task).
    Move.BREACH_QUEUE: (frozenset({S.QUEUED}), None),
    Move.BREACH_POOL: (frozenset({S.POOL}), S.OFFERED),
    # infoask (issue 15): the holder asks the resident; the answer, or none in time.
    Move.ASK_RESIDENT: (frozenset({S.ACCEPTED, S.ON_WAY}), None),
    Move.RESIDENT_ANSWERED: (frozenset({S.ACCEPTED, S.ON_WAY, S.PAUSED}), None),
    Move.RESIDENT_SILENT: (frozenset({S.ACCEPTED, S.ON_WAY, S.PAUSED}), None),
    # notices (issue 17): a grid crew member claimed a new order in the staff group (认领).
    Move.GROUP_CLAIM: (frozenset({S.QUEUED, S.OFFERED}), S.ACCEPTED),
}

# moves (issue 15): a paused order is open like the others — it can still be cancelled, take
# information, go back to dispatch (queued or offered to someone else) or lose its holder.
for _paused_too in (Move.QUEUE, Move.OFFER, Move.CANCEL, Move.ADD_INFO, Move.WITHDRAW):
    MOVES[_paused_too] = (MOVES[_paused_too][0] | {S.PAUSED}, MOVES[_paused_too][1])

# Where an order may go next from each status (derived, for documentation and checks).
ALLOWED: dict[S, frozenset[S]] = {
    status: frozenset(to for starts, to in MOVES.values() if status in starts and to is not None)
    for status in S
}


def can(action: Move, status: S) -> bool:
    """Return whether the action may be taken on an order in this status."""
    starts, _ = MOVES[action]
    return status in starts


def target(action: Move, status: S) -> S:
    """Return the status an action leads to from this status."""
    _, to = MOVES[action]
    return to if to is not None else status


async def move(
    uow: UnitOfWork,
    clock: Clock,
    order: Order,
    action: Move,
    *,
    actor_id: int | None,
    to: S | None = None,
    note: str | None = None,
    target_id: int | None = None,
    photo: str | None = None,
    taken_error: type[DomainError] = StaleAction,
    changes: OrderChanges | None = None,
) -> Order:
    """Apply an allowed move as a conditional write and record it on the order's timeline.

    The cards whose buttons the move made meaningless are taken back in the same transaction.
    """
    if not can(action, order.status):
        raise StaleAction(number=order.number)
    new_status = to if to is not None else target(action, order.status)
    if new_status != order.status and new_status not in ALLOWED[order.status]:
        raise StaleAction(number=order.number)
    moved = await uow.orders.move(
        order.id, [order.status], new_status, expect_version=order.version, changes=changes
    )
    if moved is None:
        raise taken_error(number=order.number)
    await uow.orders.add_event(
        OrderEvent(
            order_id=order.id,
            at=clock.now(),
            actor_id=actor_id,
            action=action,
            from_status=order.status,
            to_status=new_status,
            note=note,
            target_id=target_id,
            photo=photo,
        )
    )
    await retire_spent_cards(uow, order, moved, actor_id)
    return moved
