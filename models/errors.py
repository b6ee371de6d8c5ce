"""What a user can get wrong: one base class, so that every command catches one type and says it
in one line (the value, and what is allowed) with exit code 2, and no traceback. Each layer
derives its own kind (UnknownNameError, DataError, ConfigError, UsageError, ...)."""


class UserError(ValueError):
    """A bad value from the user: the message is one line naming it and the allowed ones."""
