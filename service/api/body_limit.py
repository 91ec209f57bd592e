"""Refuse request bodies over ``STANCE_MAX_BODY_BYTES`` with 413, counting bytes as they arrive.

A declared ``Content-Length`` over the limit is refused before anything is read. A body without
one (chunked) or one that claims less than it sends is counted while it streams, and reading
stops at the first byte over the limit, so memory never holds more than the limit whatever the
client says. Pure ASGI: nothing is buffered and streaming responses pass straight through.
"""

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import ProblemResponse, make_problem, slug_for_status, title_for_status


class RequestBodyTooLarge(HTTPException):
    """Raised from ``receive`` at the first byte over the limit.

    An ``HTTPException`` so that FastAPI's body parsing lets it through unchanged (it turns other
    exceptions into a 400), and the problem handler answers it with a 413.
    """

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(
            413,
            detail=f"The request body is larger than {max_body_bytes} bytes",
            # The client may still be sending; closing the connection spares reading the rest.
            headers={"Connection": "close"},
        )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(scope, receive, send)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise RequestBodyTooLarge(self.max_body_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except RequestBodyTooLarge:
            # Only reached when no handler inside answered it (a plain ASGI route, say).
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = RequestBodyTooLarge(self.max_body_bytes)
        problem = make_problem(
            status=413,
            slug=slug_for_status(413),
            title=title_for_status(413),
            detail=error.detail,
            instance=scope["path"],
        )
        await ProblemResponse(problem, headers=error.headers)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
