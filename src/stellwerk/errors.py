"""The one exception tree of Stellwerk.

    StellwerkError
    ├── ConfigError                 the config file is invalid (names the file and the key path)
    ├── RequestError                not served as sent: 4xx (the client's fault), 503 not started
    │   ├── InvalidRequest          400 malformed JSON, wrong types, missing fields, duplicate keys
    │   │   ├── Untranslatable      400 one backend's dialect cannot carry a valid request
    │   │   └── ContextExceeded     400 the prompt (an input) is over the model's context
    │   ├── AuthenticationFailed    401 no key, unknown key, revoked key
    │   ├── PermissionDenied        403 policy forbids it (model, classification, role)
    │   ├── NotFound                404 unknown model, route, department ...
    │   ├── Conflict                409 concurrent change, illegal transition
    │   ├── PayloadTooLarge         413 body over the configured limit
    │   ├── UnsupportedEncoding     415 a compressed body (content-encoding): send it as it is
    │   ├── RateLimited             429 rate limit or budget exhausted
    │   └── NotStarted              503 the app's runtime is asked for before its start-up ran
    ├── UpstreamError               a backend's fault: 502/503/504, names the backend
    │   ├── BackendUnavailable      503 refused connection, down
    │   │   └── CircuitOpen         503 skipped: its circuit breaker is open
    │   ├── BackendFailed           502 the connection broke (reset, cut off mid-answer)
    │   │   ├── ConnectionLost      502 the server closed or reset it (a request is sent twice)
    │   │   └── BackendAnswered     502 it answered with an error (5xx), garbage, a cut stream
    │   └── BackendTimeout          504 backend did not answer in time
    ├── RouterError                 routing could not decide, or its artifact is unusable
    │   ├── ArtifactError           corrupt or foreign router artifact
    │   ├── TrainingDataError       outcome data is malformed (names the line and the field)
    │   └── EmbeddingError          an embedding endpoint for training or evaluation failed
    ├── LedgerError                 the ledger could not be opened or written
    ├── CalibrationError            a calibration run cannot start or resume (output, checkpoint)
    │   └── SandboxError            the code sandbox cannot start or isolate a run
    ├── SharedStateUnavailable      503 the state replicas share (Redis, the ledger) failed
    │   ├── CountersUnavailable     503 the shared limit/budget counters failed (Redis)
    │   ├── LedgerUnavailable       503 the ledger's database cannot be reached (admin, dashboard)
    │   ├── GovernanceStale         503 this replica missed a governance change it was told of
    │   └── NotListening            the governance notices' connection carries no notices (logged)
    └── DemoBackendError            the embedded llama.cpp server (demo, tests) is missing or failed

Upstream errors are translated into this tree in one place (``stellwerk.backends.transport``);
the gateway renders every ``StellwerkError`` through one handler. A refusal names the part of the
request it refuses by its place (``param``, and its message's start: ``tools[0].function...``);
an API that holds that part elsewhere in its body renames it there (``RequestError.placed``).

Which failure counts against a backend's circuit is said on the class (``blames_backend``): a
backend that cannot be reached, is busy or does not answer in time is at fault; one that answered
(``BackendAnswered``: an error status, a broken answer) is alive, and a request can make a healthy
server answer 500, so such a failure counts only when the backend's health probe fails too
(``stellwerk.backends.health.HealthMonitor.confirm``). Names a client sent are echoed in errors
through ``shown``, cut to ``SHOWN_CHARS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: the most characters of a client-sent name (a model, a route, a key id) that an error echoes
SHOWN_CHARS = 80

#: ``repr``'s ``\\udcNN`` for a byte 0x80-0xFF that ``surrogateescape`` kept. ``repr`` doubles a
#: backslash the client wrote, so only a ``\\udc`` after an odd run of backslashes is its own
_ESCAPED_BYTE = re.compile(r"(?<!\\)((?:\\\\)*)\\udc([89a-f][0-9a-f])")


def shown(name: str) -> str:
    """A name the client sent, quoted as errors echo it, cut to ``SHOWN_CHARS`` characters. A
    byte that was not UTF-8 (kept as a lone surrogate, ``surrogateescape``: a header's value, a
    command-line argument) is shown as ``\\xNN``, as Python shows a byte."""
    if len(name) <= SHOWN_CHARS:
        quoted = repr(name)
    else:
        quoted = repr(name[:SHOWN_CHARS]) + f"... ({len(name)} characters)"
    return _ESCAPED_BYTE.sub(r"\1\\x\2", quoted)


def placed_text(message: str, old: str, new: str) -> str:
    """``message`` naming its place ``new`` where it starts with the place ``old`` (followed by
    no more of a place: ``tools.0`` is not the start of ``tools.0x``)."""
    if re.match(re.escape(old) + r"(?![\w.\[])", message):
        return new + message[len(old) :]
    return message


def json_type(value: object) -> str:
    """How a parsed JSON value is named in a refusal: ``true``, ``false``, ``null``, or its
    type (``a list``, ``an object``, ``a string``, ``a number``)."""
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a string" if isinstance(value, str) else "a number"


class StellwerkError(Exception):
    """Base of every error Stellwerk raises on purpose."""

    #: the request it ended, when that request left a usage record: its answer carries the id
    #: (``x-stellwerk-request-id``), as a served answer does, so a client can quote it
    request_id: str | None = None


class ConfigError(StellwerkError):
    """The configuration is invalid; the message names the file and the key path."""


class RequestError(StellwerkError):
    """The request cannot be served as sent: the client can fix it (4xx), or send it again once
    the gateway has started (``NotStarted``, 503)."""

    status_code: int = 400
    error_type: str = "invalid_request_error"
    code: str = "invalid_request"
    recorded: str | None = None
    """What its usage record keeps instead of ``code``, where the record says more than the
    client's code (``RateLimited``: a key's own limit apart from its department's); None: the
    code. Read it as ``error_kind``."""

    detail: str | None = None
    """What operators see of it and the client may not (``PermissionDenied``, ``NotFound``: the
    policy filter's reason for every model of the catalog); the gateway logs it, the answer never
    carries it."""

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        detail: str | None = None,
        recorded: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if detail is not None:
            self.detail = detail
        if recorded is not None:
            self.recorded = recorded

    @property
    def error_kind(self) -> str:
        """What the request's usage record keeps as its ``error_kind`` (the dashboard's reason)."""
        return self.recorded or self.code

    def placed(self, rename: Callable[[str], str]) -> RequestError:
        """This refusal, its place named as ``rename`` names it (``param``, and the start of
        its message where it names it there: ``tools[0].function.parameters.x is 0.5: ...``),
        for an API whose body holds the part elsewhere than the request it was raised over
        (``/v1/responses``). Renamed in place: it is raised once, by the request it refuses."""
        if self.param is None:
            return self
        where = rename(self.param)
        if where != self.param:
            self.message = placed_text(self.message, self.param, where)
            self.args = (self.message, *self.args[1:])
            self.param = where
        return self


class InvalidRequest(RequestError):
    status_code = 400


class Untranslatable(InvalidRequest):
    """A valid request that one backend's dialect cannot express (``param`` names the part): a
    routed request goes on to the next candidate, as after a backend failure."""


def context_words(context: int) -> str:
    """The words a context refusal starts with, which client libraries recognise it by
    (``ContextExceeded``): one place, for a slip in one copy would break their fallbacks."""
    return f"This model's maximum context length is {context} tokens"


class ContextExceeded(InvalidRequest):
    """The backend says the prompt does not fit the model's context (or, for an embedding
    input that may not be cut, its tokenizer counts it over); streamed or not, the client gets
    the same 400. A routed request goes on only to a candidate with a larger context; with
    none, this is the answer (no other backend is asked).

    Its message holds the words client libraries read it by, for they read no ``code``: litellm
    (its OpenAI-compatible providers) maps "This model's maximum context length is" and
    "prompt is too long" to its ``ContextWindowExceededError``, on which its
    ``context_window_fallbacks`` act; LangChain's ``ChatOpenAI`` maps "prompt is too long" to its
    ``ContextOverflowError``."""

    code = "context_length_exceeded"

    def __init__(
        self,
        message: str,
        *,
        prompt_tokens: int | None = None,
        context: int | None = None,
        param: str = "messages",
    ) -> None:
        super().__init__(message, param=param)
        self.prompt_tokens = prompt_tokens
        self.context = context


class AuthenticationFailed(RequestError):
    status_code = 401
    error_type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(RequestError):
    """Its ``detail`` is the policy filter's reason for every model of the catalog, which the
    caller may not see (the log's only)."""

    status_code = 403
    error_type = "permission_error"
    code = "forbidden"


class NotFound(RequestError):
    """A model the caller may not see is answered as an unknown one: its ``detail`` is as
    ``PermissionDenied``'s (the policy filter's reasons, for the log only); its usage record
    keeps what the client was told (``model_not_found``), which a head key's dashboard shows."""

    status_code = 404
    error_type = "not_found_error"
    code = "not_found"


class Conflict(RequestError):
    status_code = 409
    error_type = "conflict_error"
    code = "conflict"


class PayloadTooLarge(RequestError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedEncoding(RequestError):
    """The body says it is compressed (``content-encoding``): the gateway reads bodies as they
    are (its answer says so: ``accept-encoding: identity``)."""

    status_code = 415
    code = "unsupported_content_encoding"


class RateLimited(RequestError):
    """A rate limit or budget is spent. The client's code is the same for a department's limit
    and a key's own (``budget_exceeded``, ``rate_limited``; the message names the scope); the
    usage record keeps a key's own apart (``recorded``: ``key_budget_exceeded``), so that the
    dashboard does not count a key's spent budget under its department's."""

    status_code = 429
    error_type = "rate_limit_error"
    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float | None = None,
        param: str | None = None,
        code: str | None = None,
        recorded: str | None = None,
    ) -> None:
        super().__init__(message, param=param, code=code, recorded=recorded)
        self.retry_after_s = retry_after_s


class ClientGone(RequestError):
    """The client hung up while its whole (not streamed) answer was awaited: the wait ends, the
    backend's request is cancelled, and the usage record says 499 (nobody reads the answer). Or
    it hung up while still sending its body (``request_body.read_body``): the same 499, a
    refusal of no one's doing, never a server's error."""

    status_code = 499
    code = "client_disconnected"


class NotStarted(RequestError):
    """The gateway's runtime (``app.state.runtime``, built when the app starts) is asked for
    before the app started: served without its start-up (lifespan), or asked while starting."""

    status_code = 503
    error_type = "server_error"
    code = "not_started"


class UpstreamError(StellwerkError):
    """A backend failed; ``backend`` names it."""

    status_code: int = 502
    error_type: str = "upstream_error"
    kind: str = "upstream"
    #: the failure alone shows the backend is down or stuck: it counts against its circuit
    blames_backend: bool = True

    def __init__(self, backend: str, message: str) -> None:
        super().__init__(f"backend {backend!r}: {message}")
        self.backend = backend
        self.message = f"backend {backend!r}: {message}"


class BackendUnavailable(UpstreamError):
    status_code = 503
    kind = "unavailable"


class CircuitOpen(BackendUnavailable):
    kind = "circuit_open"


class BackendFailed(UpstreamError):
    status_code = 502
    kind = "failed"


class ConnectionLost(BackendFailed):
    """The server closed or reset the connection. Before any answer, the request is sent once
    more on another connection (``stellwerk.backends.transport``): the pool may have handed out
    a kept-alive connection the server had just closed."""


class BackendAnswered(BackendFailed):
    """The backend answered, with an error status (5xx), a body that breaks its protocol or a
    stream cut short: it is alive, and the request may be what made it fail, so this counts
    against its circuit only when its health probe fails as well."""

    blames_backend = False


class BackendTimeout(UpstreamError):
    status_code = 504
    kind = "timeout"


class RouterError(StellwerkError):
    """The router could not decide, or cannot be loaded."""


class ArtifactError(RouterError):
    """A router artifact is corrupt, foreign or of an unknown version."""


class TrainingDataError(RouterError):
    """Outcome data is malformed; the message names the line and the field."""


class EmbeddingError(RouterError):
    """The embedding endpoint of ``router train | eval`` is down, refused the request or answered
    vectors the router cannot use; the message names the endpoint and the problem."""


class LedgerError(StellwerkError):
    """The ledger could not be opened, migrated or written."""


class SharedStateUnavailable(StellwerkError):
    """What the replicas share, in Redis (``server.redis_url``) or in the ledger's database
    (``server.database_url``), could not be read or written: the answer is a 503, to be sent
    again (``Retry-After``), not a guess. Its message says which state failed, never the
    server's own error (an internal address); the gateway logs that."""

    status_code: int = 503
    code: str = "service_unavailable"
    retry_after_s: float = 5.0


class CountersUnavailable(SharedStateUnavailable):
    """The shared rate-limit and budget counters (Redis) could not be used; requests are refused
    (503) rather than served unmetered."""

    status_code: int = 503


class LedgerUnavailable(SharedStateUnavailable):
    """The ledger's database cannot be reached (or is too busy to answer): what reads or
    changes it now (the admin API, the dashboard) is refused with 503. Model requests go on:
    their records are held and written once it is back (``stellwerk.ledger.writer``)."""


class GovernanceStale(SharedStateUnavailable):
    """This replica was told of a governance change (a notice from another replica or the CLI)
    and could not read it: its keys, limits and catalog may be out of date (a key revoked
    elsewhere, a budget lowered), so the model APIs refuse with 503 until it has read the
    change (``governance.staleness``)."""

    code: str = "governance_stale"
    retry_after_s: float = 5.0


class NotListening(SharedStateUnavailable):
    """A gateway's listener of governance notices (Redis) holds a connection that does not
    carry its subscription (unconfirmed, or its own probe did not come back); never answered to
    a client: the listener logs it and connects again (``governance.notice_listener``)."""


class CalibrationError(StellwerkError):
    """A calibration run cannot start or resume: its output is not writable, its checkpoint
    belongs to another bank, or the models it names are not configured."""


class SandboxError(CalibrationError):
    """The sandbox that runs a model's code could not start a run or isolate it (no network
    namespace here); the pair is recorded with a ``grader`` error and asked again next time."""


class DemoBackendError(StellwerkError):
    """The embedded llama.cpp server of ``stellwerk demo`` and the tests is not installed, or it
    did not start; the message says which and how to fix it."""
