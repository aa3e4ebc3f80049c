"""Domain errors: each has a meaning and a catalog key for the friendly reply."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the domain refuses; `key` names the reply in the message catalog."""

    key = "error.generic"

    def __init__(self, **params: Any) -> None:
        super().__init__(self.key, params)
        self.params = params


class NotRegistered(DomainError):
    """The person has not registered a household or joined as staff."""

    key = "error.not_registered"


class OrderNotFound(DomainError):
    """No such order, or not one this person may see."""

    key = "error.order_not_found"


class NotYourOrder(DomainError):
    """The order belongs to another resident."""

    key = "error.not_your_order"


class NotYourTask(DomainError):
    """The task is not held by this person (any more)."""

    key = "error.not_your_task"


class OrderAlreadyTaken(DomainError):
    """Someone else claimed or accepted the order first."""

    key = "error.already_taken"


class StaleAction(DomainError):
    """The order has moved on; the button pressed no longer applies."""

    key = "error.stale"


class NotAllowed(DomainError):
    """The person's role does not allow this action."""

    key = "error.not_allowed"


class InvalidInput(DomainError):
    """What the person typed cannot be used; params say why."""

    key = "error.invalid_input"


class InvalidInvite(DomainError):
    """The invite link is unknown or was already used."""

    key = "error.invalid_invite"


class NoOneToEscalateTo(DomainError):
    """Nobody stands above this level for this order."""

    key = "error.no_escalation"


class NoLongerInRole(DomainError):
    """The person holds the task but no longer the role it needs (the file took it away)."""

    key = "error.no_longer_in_role"
