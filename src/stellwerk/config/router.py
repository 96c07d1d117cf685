"""The router part of ``stellwerk.yaml`` (``router:``): which router answers the routes, and
shadow grading (``router.shadow``)."""

from __future__ import annotations

from pydantic import Field, field_validator

from stellwerk.config.base import Classification, Strict, check_env, each_once


class ShadowConfig(Strict):
    """Shadow grading (docs/router.md): a share of routed requests is also sent, after the
    client's answer and off its path, to the best model its policy permits, which grades the
    routed answer. Off while ``share`` is 0. Only requests of the listed ``departments``,
    ``routes`` and data ``classifications`` (None: every one) are graded, at most
    ``requests_per_minute``; the calls are charged to the department ``account``."""

    share: float = Field(default=0.0, ge=0, le=1)
    departments: tuple[str, ...] | None = None
    routes: tuple[str, ...] | None = None
    classifications: tuple[Classification, ...] = ("public", "internal")
    requests_per_minute: int = Field(default=6, ge=1, le=10_000)
    account: str | None = None
    reference_max_tokens: int = Field(default=512, ge=1, le=32_768)
    """The reference model's answer is cut at this many tokens."""

    _departments = field_validator("departments")(each_once("department"))
    _routes = field_validator("routes")(each_once("route"))
    _classes = field_validator("classifications")(each_once("classification"))


class RouterConfig(Strict):
    """Which router answers the routes; ``artifact`` null: the router shipped in the package.

    ``embedding_model`` (a model of this config with the ``embeddings`` capability) is asked for
    the prompt's embedding before a decision, when the artifact was trained with embeddings;
    ``embedding_timeout_s`` bounds that call (past it, the router decides without it).

    A model's expected answer length is the mean completion tokens of its successful requests
    of the last ``answer_window_days`` (from the ledger's daily rollups, re-read every
    ``answer_refresh_s``), once it has at least ``answer_min_requests`` of them.

    A prompt whose familiarity (docs/router.md) is below ``familiarity_threshold`` is called
    unfamiliar in the decision's reason; a route's ``unfamiliar`` says what to do with it.
    """

    kind: str = "learned"
    artifact: str | None = None
    embedding_model: str | None = None
    embedding_timeout_s: float = Field(default=2.0, gt=0, le=60)
    answer_window_days: int = Field(default=30, ge=1, le=366)
    answer_min_requests: int = Field(default=20, ge=1)
    answer_refresh_s: float = Field(default=300.0, gt=0, le=86400)
    familiarity_threshold: float = Field(default=0.05, ge=0, le=1)
    """A prompt less familiar than this (``routing.familiarity``) is called unfamiliar."""
    feedback_window_s: float = Field(default=3600.0, ge=0, le=7 * 86400)
    """How long a routed request may get feedback (``POST /v1/feedback``); 0: never."""
    feedback_max_pending: int = Field(default=10_000, ge=0, le=1_000_000)
    """Routed requests kept for feedback at most (the oldest go first)."""
    feedback_classifications: tuple[Classification, ...] = ("public", "internal")
    """Only routed requests of these data classes may get feedback; of another class nothing of
    the prompt's reading is kept, and a feedback is refused (403) naming the class."""
    _feedback_classes = field_validator("feedback_classifications")(each_once("classification"))
    record_noise: float = Field(default=0.5, ge=0, le=10)
    """The noise a graded request's record is kept with, in units of its prompt's sensitivity to
    one word (``routing.record_noise``); 0: exact readings, which confirm a guess of a prompt."""
    record_noise_key_env: str | None = None
    """The variable holding the key half of that noise is drawn with (32 characters or more, the
    same on every replica); none: a random key per process, never written (docs/config.md)."""
    _key_env = field_validator("record_noise_key_env")(check_env)
    shadow: ShadowConfig = ShadowConfig()
    adapt_every_s: float = Field(default=0.0, ge=0, le=30 * 86400)
    """Adapt the learned router from its graded requests this often, in the gateway (one
    replica at a time); 0: only by command (``stellwerk router adapt``)."""
    adapt_min_new: int = Field(default=50, ge=1, le=1_000_000)
    """A scheduled adaptation runs only when this many graded requests came since the last
    adaptation (scheduled or by command) or rollback, whichever is newer."""
    graded_retention_days: int | None = Field(default=None, ge=1, le=36_500)
    """Graded requests older than this many days are deleted (None: kept for ever)."""
    graded_retention_max: int | None = Field(default=None, ge=1, le=100_000_000)
    """At most this many graded requests are kept per router artifact, the newest (None: no
    limit); an adaptation reads the newest 5,000 at most."""
