"""Errors a user can cause. The CLI prints them as one line and exits 2; anything else is our bug."""


class UserError(Exception):
    """A mistake the user can fix: the message names the cause and the fix, in one line."""
