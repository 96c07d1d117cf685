"""The route of an admin endpoint (``stellwerk.gateway.admin_api``): what a request to it is
checked against, worked out once when the route is made (the query parameters its endpoint and
its dependencies take, and the model of its body), not again on every request; and the checks of
a request's query parameters that the admin API's router runs before its endpoint. Its body's
JSON numbers with a fraction or an exponent are read as ``Decimal`` from their text, not
through a float: a budget of ``123456789012.345678`` sent as a JSON number is that amount (a
float would hold ``...34567``), and one past the maximum by a micro-unit is refused."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from stellwerk.errors import SHOWN_CHARS, InvalidRequest, shown


class AdminRoute(APIRoute):
    """An ``APIRoute`` that knows the query parameters (``query_names``, sorted) and the body
    model (``body_model``, ``None`` without a body) its endpoint takes."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.query_names: tuple[str, ...] = tuple(sorted(_query_names(self.dependant)))
        self.body_model: type[BaseModel] | None = _body_model(endpoint)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, given the request as an ``ExactRequest``."""
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            return await handler(ExactRequest(request))

        return exact

    def refuse_unknown(self, request: Request) -> None:
        """A 400 naming the first query parameter of ``request`` this endpoint does not take,
        with the ones it does."""
        for name in request.query_params:
            if name not in self.query_names:
                taken = self.query_names
                offer = f"it takes {', '.join(taken)}" if taken else "it takes none"
                raise InvalidRequest(
                    f"unknown query parameter {shown(name)} for {request.method} {self.path}; "
                    + offer,
                    param=name if len(name) <= SHOWN_CHARS else None,
                    code="unknown_parameter",
                )


class ExactRequest(Request):
    """``request`` whose JSON body reads a number with a fraction or an exponent as a
    ``Decimal`` of its text (money is exact; the admin API takes no float). Its body is
    ``request``'s, read once: the error handlers, given ``request``, read it again."""

    def __init__(self, request: Request) -> None:
        super().__init__(request.scope, request.receive)
        self.original = request
        self.exact: Any = None

    async def body(self) -> bytes:
        return await self.original.body()

    async def json(self) -> Any:
        if self.exact is None:
            self.exact = json.loads(await self.body(), parse_float=Decimal)
        return self.exact


def refuse_repeated(request: Request) -> None:
    """A 400 naming the first query parameter ``request`` gives twice."""
    seen: set[str] = set()
    for name, _value in request.query_params.multi_items():
        if name in seen:
            raise InvalidRequest(
                f"the query parameter {shown(name)} is given twice; give it once",
                param=name if len(name) <= SHOWN_CHARS else None,
            )
        seen.add(name)


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters an endpoint takes, its dependencies' included."""
    names = {field.alias for field in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def _body_model(endpoint: Callable[..., Any]) -> type[BaseModel] | None:
    """The model of the body ``endpoint`` takes (its parameter of a pydantic model's type), if
    it takes one."""
    for parameter in inspect.signature(endpoint, eval_str=True).parameters.values():
        kind = parameter.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            return kind
    return None
