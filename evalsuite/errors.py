"""Errors a user can cause. The CLI prints them as one line and exits 2; anything else is our bug."""


class UserError(Exception):
    """A mistake the user can fix: the message names the cause and the fix, in one line."""


class EngineDied(RuntimeError):
    """The inference engine itself failed: it could not start, or it raised mid-generation. A suite
    stops it, starts a fresh one once and runs the task again; a second death ends the suite's
    remaining tasks (`evalsuite.cli.run_config`). The engine's own exception is the __cause__."""
