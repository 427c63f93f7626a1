# ruff: noqa: E501  (user agents and tables read best whole)
"""Issue 22's scenarios: links with rules at the edge, and a click limit from two pods.

redirect_rules: links with 5 rules and an A/B split, visitors varying in country
(X-Forwarded-For through one trusted proxy), device, OS, browser, language and
referrer, alternated with the bare Sanic floor serving the same codes (A B A B).
The evaluator's own cost is timed in this process over the same links and visitors.

redirect_limited: one max_clicks link hammered by two redirector processes at
once; every answer's Location is counted, so the line says how many redirects went
to the target (exactly max_clicks, or the scenario fails) and how many to the fallback.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpx
from sanic import Request
from sanic.compat import Header

from benchmarks.alternation import Alternation, alternate_each, median_round, summed_socket_errors
from benchmarks.compare import Compared, snapshot
from benchmarks.context import ScenarioContext
from benchmarks.fixtures import write_codes
from benchmarks.host import log, pinned
from benchmarks.lines import base_line, is_clean, wrk_fields
from benchmarks.lua import lua_string
from benchmarks.references import WARMUP_S, Reference, bare_sanic_process
from benchmarks.server_cpu import ServerCpu, cpu_fields
from benchmarks.stack import resident_mb, service_environment, shortlink_command
from benchmarks.wrk import WrkResult
from shortlink.adapters.geoip import GeoIP
from shortlink.adapters.user_agents import UserAgentParser
from shortlink.domain.link_option_parsing import parse_link_options
from shortlink.domain.link_options import own_url
from shortlink.domain.routing import VisitorFacts, evaluate
from shortlink.domain.urls import UrlPolicy
from shortlink.domain.visitors import anonymize_ip, sticky_key
from shortlink.redirector.edge_visitor import EdgeFacts, EdgeVisitor
from tests.harness import ServiceProcess, free_port
from tests.harness.stack import component_process

RULES_MIN_RATIO = 0.8
RULES_LINKS = 200
LIMIT = 3000
QUICK_LIMIT = 200
MAX_LIMITED_RUNS = 10
LIMIT_FALLBACK = "https://example.com/sold-out"

RULES = [
    {"id": "uk", "conditions": {"country": ["GB"]}, "action": {"target": "https://example.com/uk"}},
    {"id": "ios", "conditions": {"os": ["ios"], "device": ["mobile", "tablet"]},
     "action": {"target": "https://example.com/app", "redirect_type": 307}},
    {"id": "german", "conditions": {"language": ["de"]}, "action": {"target": "https://example.com/de"}},
    {"id": "news", "conditions": {"referrer_host": ["news.example"]},
     "action": {"target": "https://example.com/press"}},
    {"id": "office", "conditions": {"ip": ["10.0.0.0/8"], "time": {"windows": [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}]}},
     "action": {"target": "https://example.com/intranet"}},
]  # fmt: skip
VARIANTS = [
    {"id": "a", "target": "https://example.com/a", "weight": 50},
    {"id": "b", "target": "https://example.com/b", "weight": 50},
]
# (client IP, user agent, Accept-Language, Referer): GB, US, DE, FR and private clients
# on iPhone, Android, desktop Firefox and Chrome.
VISITORS = [
    ("81.2.69.142", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", "en-GB,en;q=0.9", ""),
    ("2.16.0.1", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36", "en-US", "https://news.example/story"),
    ("5.9.0.1", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "de-DE,de;q=0.9,en;q=0.5", ""),
    ("2.0.0.1", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "fr-FR,fr;q=0.9", "https://www.google.com/"),
    ("10.1.2.3", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15", "en", ""),
    ("2.16.0.9", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "es-ES", ""),
]  # fmt: skip

# Cycles over paths and visitor profiles together (a prime-sized shift between them,
# so each code meets every profile).
_CYCLE_VISITORS = """\
local paths = {}
for line in io.lines(%(codes_file)s) do paths[#paths + 1] = "/" .. line end
local visitors = %(visitors)s
local next_index = 0

function request()
    next_index = next_index + 1
    local visitor = visitors[next_index %% #visitors + 1]
    local headers = {["X-Forwarded-For"] = visitor[1], ["User-Agent"] = visitor[2],
                     ["Accept-Language"] = visitor[3]}
    if visitor[4] ~= "" then headers["Referer"] = visitor[4] end
    return wrk.format("GET", paths[next_index %% #paths + 1], headers)
end
"""

# One path, a browser's user agent (an empty one is a bot, which spends nothing),
# every answer's Location counted.
_COUNT_LOCATIONS = """\
local threads = {}
target, fallback, other = 0, 0, 0

function setup(thread) table.insert(threads, thread) end

function init(args)
    wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
end

function request() return wrk.format("GET", %(path)s) end

function response(status, headers, body)
    local location = headers["Location"] or headers["location"]
    if location == %(target)s then target = target + 1
    elseif location == %(fallback)s then fallback = fallback + 1
    else other = other + 1 end
end

function done(summary, latency, requests)
    local t, f, o = 0, 0, 0
    for _, thread in ipairs(threads) do
        t = t + thread:get("target"); f = f + thread:get("fallback"); o = o + thread:get("other")
    end
    io.write("bench: to_target=" .. t .. "\\n")
    io.write("bench: to_fallback=" .. f .. "\\n")
    io.write("bench: other=" .. o .. "\\n")
end
"""


def _profile_headers(ip: str, agent: str, language: str, referrer: str) -> dict[str, str]:
    headers = {"X-Forwarded-For": ip, "User-Agent": agent, "Accept-Language": language}
    return {**headers, "Referer": referrer} if referrer else headers


def _lua_table(rows: list[tuple[str, ...]]) -> str:
    return "{" + ", ".join("{" + ", ".join(lua_string(v) for v in row) + "}" for row in rows) + "}"


@contextlib.contextmanager
def extra_redirector(
    context: ScenarioContext, name: str, *, cpus: str | None = None, **env: str
) -> Iterator[ServiceProcess]:
    """Another redirector process on the stack's database and Redis (on ``cpus``; by
    default the server CPUs)."""
    stack = context.stack
    port = free_port()
    environment = {**service_environment(stack.database_url, stack.redis.url, port), **env}
    service = component_process(
        "redirector",
        environment,
        context.work_dir / "logs",
        port=port,
        command=pinned(shortlink_command("redirector"), cpus or context.settings.cpus.server_cpus),
        name=f"shortlink-{name}",
    )
    with service as running:
        yield running


@contextlib.contextmanager
def compared_redirector(context: ScenarioContext, name: str) -> Iterator[Compared]:
    """``--compare REF``'s redirector on the stack (nothing without a REF)."""
    if not context.settings.compare:
        yield Compared()
        return
    commit, code_env = snapshot(context.settings.compare, context.scratch_dir("compare"))
    with extra_redirector(context, name, **code_env) as service:
        assert service.process is not None
        yield Compared(commit, service.base_url, ServerCpu(service.process.pid))


def _create(context: ScenarioContext, body: dict[str, Any]) -> str:
    with context.api_client() as client:
        response = client.post("/v1/urls", json=body)
    if response.status_code != 201:
        raise RuntimeError(f"POST /v1/urls answered {response.status_code}: {response.text}")
    return str(response.json()["short_code"])


def evaluator_microseconds(batch: int = 4000, batches: int = 7) -> float:
    """The pure evaluator's cost per request over this scenario's link and visitors
    (facts given: GeoIP and user-agent parsing are LRU-cached at the edge): the
    fastest of ``batches`` timed batches, as timeit does, since the shared host's
    other work only ever adds time; timed by this thread's CPU clock, so the time
    it spends descheduled on a busy host is not counted either."""
    options = parse_link_options({"rules": RULES, "variants": VARIANTS}, UrlPolicy())
    target = own_url(options, "https://example.com/")
    facts = [
        VisitorFacts(
            country=country,
            device=device,
            os=os,
            browser=browser,
            languages=(language,),
            ip=ip_address(ip),
            referrer_host=referrer,
            sticky=sticky_key("bench", anonymize_ip(ip), str(index), b"k" * 32),
        )
        for index, (ip, country, device, os, browser, language, referrer) in enumerate(
            [
                ("81.2.69.142", "GB", "mobile", "ios", "safari", "en-gb", ""),
                ("2.16.0.1", "US", "mobile", "android", "chrome", "en-us", "news.example"),
                ("5.9.0.1", "DE", "desktop", "linux", "firefox", "de-de", ""),
                ("2.0.0.1", "FR", "desktop", "windows", "chrome", "fr-fr", "google.com"),
                ("10.1.2.3", "", "desktop", "macos", "safari", "en", ""),
                ("2.16.0.9", "US", "desktop", "linux", "firefox", "es-es", ""),
            ]
        )
    ]
    now = time.time()
    fastest = float("inf")
    for _ in range(batches):
        started = time.thread_time()
        for index in range(batch):
            evaluate(options, target, 302, None, facts[index % len(facts)], now)
        fastest = min(fastest, time.thread_time() - started)
    return fastest / batch * 1e6


def edge_evaluation_microseconds(batch: int = 4000, batches: int = 7) -> float:
    """What the redirector pays per request for a link with rules, beyond serving a
    plain one: its visitor's facts worked out from the request's headers (GeoIP, user
    agent, Accept-Language, Referer; memoised per process as in a running redirector)
    and the evaluator's decision; the fastest of ``batches`` timed batches, by the
    thread's CPU clock."""
    options = parse_link_options({"rules": RULES, "variants": VARIANTS}, UrlPolicy())
    target = own_url(options, "https://example.com/")
    facts = EdgeFacts(GeoIP(), UserAgentParser())
    requests = [
        (Request(b"/code", Header(_profile_headers(ip, agent, language, referrer)), "1.1", "GET", None, None), ip)  # type: ignore[arg-type]
        for ip, agent, language, referrer in VISITORS
    ]  # fmt: skip
    codes = [f"code{index}" for index in range(RULES_LINKS)]
    fastest = float("inf")
    for _ in range(batches):
        started = time.thread_time()
        for index in range(batch):
            request, ip = requests[index % len(requests)]
            visitor = EdgeVisitor(request, codes[index % len(codes)], ip, facts, b"k" * 32)
            evaluate(options, target, 302, None, visitor, time.time())
        fastest = min(fastest, time.thread_time() - started)
    return fastest / batch * 1e6


def redirect_rules(context: ScenarioContext) -> dict[str, Any]:
    settings = context.settings
    codes = [
        _create(context, {"original_url": f"https://example.com/{context.run_id}/r{index}",
                          "rules": RULES, "variants": VARIANTS})
        for index in range(RULES_LINKS)
    ]  # fmt: skip
    codes_file = write_codes(context.work_dir / "rules_codes.txt", codes)
    script = context.scratch_dir("rules") / "cycle_visitors.lua"
    script.write_text(
        _CYCLE_VISITORS
        % {"codes_file": lua_string(str(codes_file)), "visitors": _lua_table(VISITORS)}
    )

    def load(base_url: str) -> Callable[[], WrkResult]:
        return lambda: context.wrk(
            f"{base_url}/", script, connections=settings.connections, duration_s=settings.duration_s
        )

    with contextlib.ExitStack() as running:
        redirector = running.enter_context(extra_redirector(context, "rules-redirector"))
        floor = running.enter_context(
            bare_sanic_process(context.work_dir, codes_file, settings.cpus.server_cpus)
        )
        floor_url, floor_cpu = floor[0], ServerCpu(floor[1])
        assert redirector.process is not None
        subject_cpu = ServerCpu(redirector.process.pid)
        compared = running.enter_context(compared_redirector(context, "rules-compare"))
        with httpx.Client(base_url=redirector.base_url) as client:
            # Each profile as the load sends it (Referer included): the UK, news-referrer
            # and German rules and the default split are 4 targets at any hour.
            answers = {client.get(f"/{codes[0]}", headers=_profile_headers(*visitor)).headers.get("location")
                       for visitor in VISITORS}  # fmt: skip
        for base_url in (floor_url, *compared.urls, redirector.base_url):
            context.wrk(
                f"{base_url}/", script, connections=settings.connections, duration_s=WARMUP_S
            )
        # REF's redirector, if any, is measured between the floor and the subject.
        floor_runs, *_, subject_runs = alternate_each(
            settings.rounds,
            [
                floor_cpu.measured(load(floor_url)),
                *compared.runs(load),
                subject_cpu.measured(load(redirector.base_url)),
            ],
        )
        runs = Alternation(subject=subject_runs, reference=floor_runs)
        rss = resident_mb(redirector)
    evaluator_us = evaluator_microseconds()
    edge_us = edge_evaluation_microseconds()
    floor = Reference(
        "bare_sanic_302",
        runs.reference_rps,
        median_round(runs.reference).p50_ms,
        median_round(runs.reference).p99_ms,
    )
    distinct = len(answers)
    meets = (
        runs.ratio >= RULES_MIN_RATIO and is_clean(*runs.subject, *runs.reference) and distinct >= 4
    )
    return {
        **base_line("redirect_rules", context, runs.subject_rps, floor),
        **wrk_fields(median_round(runs.subject), settings.connections),
        "rounds": runs.rounds(),
        "statistic": f"median of {settings.rounds} alternated rounds "
        f"(reference, {'compared ref, ' if compared.commit else ''}subject, ...)",
        "socket_errors": summed_socket_errors(runs.subject),
        "links": len(codes),
        "rules_per_link": len(RULES),
        "variants_per_link": len(VARIANTS),
        "visitor_profiles": len(VISITORS),
        "distinct_targets_for_the_profiles": distinct,
        "evaluator_us_per_request": round(evaluator_us, 2),
        "edge_evaluation_us_per_request": round(edge_us, 2),
        # CPU per request of each server over its rounds: robust to a busy host.
        **cpu_fields(subject_cpu, floor_cpu),
        **compared.fields(runs.subject, subject_cpu),
        "redirector_rss_mb": rss,
        "target": f"rps >= {RULES_MIN_RATIO}x bare Sanic 302 (same codes, same load), no errors",
        "meets_target": meets,
    }


def _hammer(context: ScenarioContext, urls: list[str], script: Path) -> list[WrkResult]:
    """The same load on every redirector at once: the pods race for one budget."""
    settings = context.settings
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        futures = [
            pool.submit(
                context.wrk, f"{url}/", script,
                connections=settings.connections, duration_s=settings.duration_s,
            )
            for url in urls
        ]  # fmt: skip
        return [future.result() for future in futures]


def _counting_script(context: ScenarioContext, name: str, code: str, target: str) -> Path:
    script = context.scratch_dir("limited") / f"{name}.lua"
    script.write_text(
        _COUNT_LOCATIONS
        % {"path": lua_string(f"/{code}"), "target": lua_string(target),
           "fallback": lua_string(LIMIT_FALLBACK)}
    )  # fmt: skip
    return script


def _field(results: list[WrkResult], name: str) -> list[int]:
    return [int(result.script_fields.get(name, "0")) for result in results]


def redirect_limited(context: ScenarioContext) -> dict[str, Any]:
    """Each round: a plain link (the reference), then a fresh max_clicks link (the
    subject), each hammered from both redirectors at once; rps summed over both."""
    settings = context.settings
    limit = QUICK_LIMIT if settings.quick else LIMIT
    reference_rps: list[float] = []
    subject_rps: list[float] = []
    served: list[int] = []
    per_pod: list[list[int]] = []
    to_fallback: list[int] = []
    other = errors = 0
    with extra_redirector(context, "second-redirector") as second:
        urls = [context.stack.redirector_url, second.base_url]
        for round_index in range(settings.rounds):
            plain = f"https://example.com/{context.run_id}/plain/{round_index}"
            plain_code = _create(context, {"original_url": plain})
            plain_runs = _hammer(
                context, urls, _counting_script(context, "plain", plain_code, plain)
            )
            reference_rps.append(sum(result.rps for result in plain_runs))
            target = f"https://example.com/{context.run_id}/limited/{round_index}"
            code = _create(
                context,
                {"original_url": target, "max_clicks": limit,
                 "fallbacks": {"exhausted": LIMIT_FALLBACK}},
            )  # fmt: skip
            script = _counting_script(context, "limited", code, target)
            runs: list[WrkResult] = []
            # Until the budget is spent and the fallback shows (a slow host may need more
            # than one run); every run's answers are counted.
            while len(runs) < MAX_LIMITED_RUNS * len(urls):
                runs += _hammer(context, urls, script)
                if sum(_field(runs, "to_fallback")):
                    break
            seconds = sum(result.duration_s for result in runs) / len(urls)
            subject_rps.append(sum(result.requests for result in runs) / seconds)
            per_pod.append(
                [sum(_field(runs[pod :: len(urls)], "to_target")) for pod in range(len(urls))]
            )
            served.append(sum(per_pod[-1]))
            to_fallback.append(sum(_field(runs, "to_fallback")))
            other += sum(_field(runs, "other")) + sum(_field(plain_runs, "other"))
            errors += sum(result.errors for result in runs + plain_runs)
            log(
                f"  round {round_index + 1}: {served[-1]} to the target, {to_fallback[-1]} to the fallback"
            )
    rps = statistics.median(subject_rps)
    reference = statistics.median(reference_rps)
    exact = all(count == limit for count in served)
    return {
        "scenario": "redirect_limited",
        "rps": round(rps, 1),
        "reference": "same_redirectors_unlimited_link",
        "reference_rps": round(reference, 1),
        "ratio": round(rps / reference, 3),
        "rounds": {
            "subject_rps": [round(r, 1) for r in subject_rps],
            "reference_rps": [round(r, 1) for r in reference_rps],
        },
        "statistic": f"median of {settings.rounds} alternated rounds (reference, subject, ...), "
        "rps summed over both redirectors",
        "max_clicks": limit,
        "served_to_target_per_round": served,
        "served_to_target_per_redirector": per_pod,
        "served_to_fallback_per_round": to_fallback,
        "other_answers": other,
        "errors": errors,
        "redirectors": len(urls),
        "connections_per_redirector": settings.connections,
        "duration_s": settings.duration_s,
        "server_cpus": settings.cpus.server_cpus,
        "client_cpus": settings.cpus.client_cpus,
        "quick": settings.quick,
        "target": f"exactly {limit} redirects to the target across both redirectors in every "
        "round, every later one to the fallback",
        "meets_target": exact
        and other == 0
        and all(all(pod) for pod in per_pod)
        and all(to_fallback),
    }
