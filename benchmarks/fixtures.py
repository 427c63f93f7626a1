"""Links the scenarios create through the API, and the code files wrk reads."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx

from benchmarks.context import ScenarioContext
from benchmarks.host import log
from benchmarks.sequential import BULK_SIZE, bulk_bodies, created_codes


def write_codes(path: Path, codes: list[str]) -> Path:
    path.write_text("".join(f"{code}\n" for code in codes))
    return path


def split_by_weight(items: list[str], weights: tuple[float, ...]) -> list[list[str]]:
    """``items`` cut in consecutive runs, one per weight, sized by the weights' shares."""
    total = sum(weights)
    cuts = [0]
    for weight in weights:
        cuts.append(cuts[-1] + weight)
    bounds = [round(len(items) * cut / total) for cut in cuts]
    return [items[start:end] for start, end in itertools.pairwise(bounds)]


def follow_each(redirector_url: str, links: list[tuple[str, str]]) -> list[str]:
    """GET each code once; return a description of every answer that is not the expected 302."""
    problems = []
    with httpx.Client(base_url=redirector_url, timeout=10.0) as client:
        for code, original_url in links:
            response = client.get(f"/{code}")
            location = response.headers.get("location")
            if response.status_code != 302 or location != original_url:
                problems.append(f"/{code}: HTTP {response.status_code} location={location!r}")
    return problems


def create_links_one_by_one(context: ScenarioContext, count: int) -> list[tuple[str, str]]:
    links = []
    with context.api_client() as client:
        for index in range(count):
            original_url = f"https://example.com/{context.run_id}/hit/{index}"
            response = client.post("/v1/urls", json={"original_url": original_url})
            if response.status_code != 201:
                raise RuntimeError(
                    f"POST /v1/urls answered {response.status_code}: {response.text}"
                )
            links.append((response.json()["short_code"], original_url))
    return links


def create_links_in_bulk(context: ScenarioContext, count: int) -> list[tuple[str, str]]:
    requests = -(-count // BULK_SIZE)
    url_prefix = f"https://example.com/{context.run_id}/miss/"
    links: list[tuple[str, str]] = []
    with context.api_client() as client:
        for index, body in enumerate(bulk_bodies(url_prefix, requests)):
            response = client.post(
                "/v1/urls/bulk",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            if response.status_code != 201:
                raise RuntimeError(
                    f"bulk create answered {response.status_code}: {response.text[:500]}"
                )
            links += created_codes(response)
            if (index + 1) % 20 == 0:
                log(f"  created {len(links)} links")
    return links
