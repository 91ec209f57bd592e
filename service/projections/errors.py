"""What stops a projection: an event the read models cannot be made from."""


class LogNotReplayable(ValueError):
    """An event of the log names a statement the log never recorded.

    A log written through the service has none (a statement's later events are appended to its
    own stream, after its record); one imported or edited by hand may. Applying the log again
    fails at the same event, so a rebuild whose forked child met one raises it rather than
    replaying again in this process, and the read models stay as they were."""

    def __init__(self, event_type: str, position: int, statement_id: object) -> None:
        super().__init__(f"{event_type} at {position}: no statement {statement_id}")
        self.event_type = event_type
        self.position = position
        self.statement_id = statement_id

    def __reduce__(self) -> tuple[type["LogNotReplayable"], tuple[str, int, object]]:
        """Pickled by its three parts (a forked child sends it to its parent this way)."""
        return (type(self), (self.event_type, self.position, self.statement_id))
