"""Routers trained with prompt embeddings from the real llama.cpp server (``tiny-embed``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from tests.fixtures.embed_router import MODELS, UNSEEN_GREETING, UNSEEN_PROOF
from tests.fixtures.gateway import free_port
from tests.fixtures.llama import LlamaBackend
from typer.testing import CliRunner

from stellwerk.calibration.fit import with_placed
from stellwerk.calibration.placement import Placement
from stellwerk.cli.main import build_app
from stellwerk.config.schema import RouterConfig
from stellwerk.errors import ArtifactError, ConfigError, EmbeddingError
from stellwerk.routing.artifact import load_artifact, save_artifact
from stellwerk.routing.base import RouteRequest
from stellwerk.routing.embedding import EmbeddingEndpoint, check_vectors, fetch_embeddings
from stellwerk.routing.learned import LearnedRouter
from stellwerk.routing.loader import load_learned, load_router, shipped_artifact
from stellwerk.training.data import Embeddings, ModelFacts, load_model_facts, load_outcomes
from stellwerk.training.workflow import candidates_for, fit_and_evaluate

runner = CliRunner()


@pytest.mark.llama
def test_train_records_the_embedding_model(
    llama_server: LlamaBackend, tiny_outcomes: Path, tmp_path: Path
) -> None:
    out = tmp_path / "router"
    args = ["router", "train", "--data", str(tiny_outcomes), "--out", str(out)]
    args += ["--embed-url", llama_server.openai_base_url, "--embed-model", "tiny-embed"]
    result = runner.invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    assert "embeddings of 'tiny-embed'" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["embedding"]["model"] == "tiny-embed"
    assert manifest["embedding"]["api"] == "openai"
    head = load_artifact(out).model.embedding
    assert head is not None
    assert head.dimensions == manifest["embedding"]["dimensions"] > 0
    assert head.coef.shape == (head.dimensions, len(MODELS))


@pytest.mark.llama
def test_the_embedding_decides_and_its_absence_is_said(
    llama_server: LlamaBackend, embedding_router: Path, tiny_outcomes: Path
) -> None:
    artifact = load_artifact(embedding_router)
    router = LearnedRouter(artifact.model, version=artifact.version)
    assert router.needs_embedding
    facts = load_model_facts(tiny_outcomes.parent / "tiny-models.json")
    cands = candidates_for(artifact.model.models, facts)
    endpoint = EmbeddingEndpoint(llama_server.openai_base_url, "tiny-embed")
    prompts = [UNSEEN_GREETING, UNSEEN_PROOF]
    vectors = fetch_embeddings(endpoint, prompts)
    chosen = [
        router.decide(RouteRequest(p, 20, cands, 0.5, embedding=v.tolist())).model_id
        for p, v in zip(prompts, vectors, strict=True)
    ]
    assert chosen == ["tiny-small", "tiny-large"]
    blind = router.decide(RouteRequest(prompts[0], 20, cands, 0.5))
    assert blind.model_id == "tiny-large"
    assert "embedding unavailable: decided on the text alone" in blind.reason
    short = router.decide(RouteRequest(prompts[0], 20, cands, 0.5, embedding=[0.1, 0.2]))
    assert "embedding has 2 dimensions" in short.reason


@pytest.mark.llama
def test_eval_of_an_embedding_router_needs_fitting_embeddings(
    embedding_router: Path, tiny_outcomes: Path
) -> None:
    model = load_artifact(embedding_router).model
    data = load_outcomes(tiny_outcomes)
    facts = load_model_facts(tiny_outcomes.parent / "tiny-models.json")
    with pytest.raises(EmbeddingError, match="give --embed-url and --embed-model"):
        fit_and_evaluate(data, facts, model=model)
    wrong = data.with_embeddings(Embeddings("other", "openai", np.ones((len(data), 3), np.float32)))
    with pytest.raises(EmbeddingError, match="gives 3 dimensions; the router was trained on"):
        fit_and_evaluate(wrong, facts, model=model)


@pytest.mark.llama
def test_eval_routes_the_test_split_with_embeddings(
    llama_server: LlamaBackend, embedding_router: Path, tiny_outcomes: Path
) -> None:
    args = ["router", "eval", "--data", str(tiny_outcomes), "--router", str(embedding_router)]
    args += ["--embed-url", llama_server.openai_base_url, "--embed-model", "tiny-embed", "--json"]
    result = runner.invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["embedding"]["model"] == "tiny-embed"
    # greetings to the small model, proofs to the large one: the best any router can do
    assert report["routers"]["stellwerk"]["aiq"] == pytest.approx(report["oracle_aiq"], abs=0.02)


@pytest.mark.llama
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--embed-url", "http://127.0.0.1:{dead}/v1", "--embed-model", "m"], "cannot connect"),
        (["--embed-url", "{llama}", "--embed-model", "tiny-embed", "--embed-api", "ollama"], "404"),
        (["--embed-url", "{llama}/v1"], "--embed-url and --embed-model go together"),
        (["--embed-url", "ftp://x", "--embed-model", "m"], "is not an http(s) URL"),
        (["--embed-url", "{llama}/v1", "--embed-model", "m", "--embed-api", "grpc"], "grpc"),
    ],
)
def test_bad_embedding_endpoints_are_named(
    llama_server: LlamaBackend,
    tiny_outcomes: Path,
    tmp_path: Path,
    extra: list[str],
    message: str,
) -> None:
    values = {"dead": str(free_port()), "llama": llama_server.base_url}
    args = ["router", "train", "--data", str(tiny_outcomes), "--out", str(tmp_path / "r")]
    result = runner.invoke(build_app(), args + [a.format(**values) for a in extra])
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.strip().startswith("error: ")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("vectors", "message"),
    [
        ([[1.0, 2.0], [1.0]], "embedding 1 has 1 dimensions, expected 2"),
        ([[1.0, 2.0], [math.nan, 0.0]], "embedding 1 holds NaN or infinite values"),
        ([[1.0, 2.0]], "answered 1 embeddings for 2 prompts"),
    ],
)
def test_unusable_vectors_are_refused(vectors: list[list[float]], message: str) -> None:
    with pytest.raises(EmbeddingError, match=message):
        check_vectors(vectors, 2, "embedding endpoint x")


def test_the_shipped_router_reads_no_embedding() -> None:
    artifact = load_artifact(shipped_artifact())
    assert artifact.model.embedding is None
    assert "embedding" not in artifact.info
    assert not LearnedRouter(artifact.model, version=artifact.version).needs_embedding


@pytest.mark.llama
def test_an_embedding_router_needs_a_model_to_serve_the_embeddings(embedding_router: Path) -> None:
    needs = r"router\.embedding_model: .* embeddings of 'tiny-embed'"
    with pytest.raises(ConfigError, match=needs):
        load_router(RouterConfig(artifact=str(embedding_router)))
    named = load_router(RouterConfig(artifact=str(embedding_router), embedding_model="tiny-embed"))
    assert named.needs_embedding


@pytest.mark.llama
def test_a_tampered_embedding_section_is_refused(embedding_router: Path, tmp_path: Path) -> None:
    copy = tmp_path / "router"
    copy.mkdir()
    for name in ("arrays.npz", "manifest.json"):
        (copy / name).write_bytes((embedding_router / name).read_bytes())
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["embedding"]["dimensions"] += 1
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="'embed_mean' has the wrong type or shape"):
        load_artifact(copy)


@pytest.mark.llama
def test_a_model_placed_into_an_embedding_router_is_scored_with_the_embedding(
    llama_server: LlamaBackend, embedding_router: Path, tiny_outcomes: Path, tmp_path: Path
) -> None:
    model = load_artifact(embedding_router).model
    placed = with_placed(
        model, {"tiny-new": Placement(offset=0.0, slope=1.0, prompts=9, mean_score=0.5)}
    )
    save_artifact(placed, tmp_path / "router", {})
    router = load_learned(tmp_path / "router")
    facts = {
        **load_model_facts(tiny_outcomes.parent / "tiny-models.json"),
        "tiny-new": ModelFacts(3.0, 0.2, 0.6),
    }
    cands = candidates_for((*model.models, "tiny-new"), facts)
    endpoint = EmbeddingEndpoint(llama_server.openai_base_url, "tiny-embed")
    vectors = fetch_embeddings(endpoint, [UNSEEN_GREETING, UNSEEN_PROOF]).tolist()
    quality = {}
    for prompt, vector in zip((UNSEEN_GREETING, UNSEEN_PROOF), vectors, strict=True):
        decision = router.decide(RouteRequest(prompt, 20, cands, 0.5, embedding=vector))
        assert "embedding" not in decision.reason
        quality[prompt] = {s.model_id: s.quality for s in decision.scores}
    assert set(quality[UNSEEN_PROOF]) == {*model.models, "tiny-new"}
    # the text predictors are off: only the embedding tells the two prompts apart, for every model
    assert quality[UNSEEN_PROOF]["tiny-new"] != quality[UNSEEN_GREETING]["tiny-new"]
