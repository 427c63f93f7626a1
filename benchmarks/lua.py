"""wrk Lua scripts, written to files next to the data they read.

wrk runs the script once per thread (each in its own Lua state) and once more
in the main state for setup()/done(). Each script prints its own counters from
done() as ``bench: key=value`` lines that ``benchmarks.wrk`` picks up.
"""

from __future__ import annotations

import json
from pathlib import Path

# Cycles forever over the paths in a file: the hot-set redirect load.
_CYCLE_PATHS = """\
local paths = {}
for line in io.lines(%(codes_file)s) do paths[#paths + 1] = "/" .. line end
local next_index = 0
-- What the ingress in front adds (the chart trusts one proxy: SHORTLINK_PROXIES_COUNT=1).
local forwarded = {["X-Forwarded-For"] = "81.2.69.142"}

function request()
    next_index = next_index %% #paths + 1
    return wrk.format("GET", paths[next_index], forwarded)
end
"""

# Requests every path at most once, then stops the thread: the cache-miss load.
# wrk's own duration (and so its Requests/sec) stays the full -d even when a
# thread stops early, so the script times itself and reports active_ms.
_EACH_PATH_ONCE = """\
local threads = {}
local paths = {}
-- Globals, not locals: done() reads them from each thread with thread:get().
sent = 0
path_count = 0
exhausted = 0
started_ms = 0
active_ms = 0

local function now_ms()
    local clock = io.popen("date +%%s%%3N")
    local value = tonumber(clock:read("*l"))
    clock:close()
    return value
end

function setup(thread)
    thread:set("thread_index", #threads)
    table.insert(threads, thread)
end

function init(args)
    local index = 0
    for line in io.lines(%(codes_file)s) do
        if index %% %(thread_count)d == thread_index then
            path_count = path_count + 1
            paths[path_count] = "/" .. line
        end
        index = index + 1
    end
    started_ms = now_ms()
end

function request()
    if sent >= path_count then
        if exhausted == 0 then
            exhausted = 1
            active_ms = now_ms() - started_ms
            wrk.thread:stop()
        end
        -- wrk needs a request even now; the stopped loop will not count it.
        return wrk.format("GET", paths[path_count])
    end
    sent = sent + 1
    return wrk.format("GET", paths[sent])
end

function done(summary, latency, requests)
    local total_sent, available, exhausted_threads, longest_ms = 0, 0, 0, 0
    for _, thread in ipairs(threads) do
        total_sent = total_sent + thread:get("sent")
        available = available + thread:get("path_count")
        exhausted_threads = exhausted_threads + thread:get("exhausted")
        longest_ms = math.max(longest_ms, thread:get("active_ms"))
    end
    io.write("bench: unique_paths_sent=" .. total_sent .. "\\n")
    io.write("bench: unique_paths_available=" .. available .. "\\n")
    io.write("bench: exhausted_threads=" .. exhausted_threads .. "\\n")
    io.write("bench: exhausted_after_ms=" .. longest_ms .. "\\n")
end
"""

# POSTs a JSON body made unique by a per-thread counter: the create load.
_POST_UNIQUE_URLS = """\
local threads = {}
local prefix = ""
counter = 0 -- global so done() can read it with thread:get()

function setup(thread)
    thread:set("thread_index", #threads)
    table.insert(threads, thread)
end

function init(args)
    prefix = %(url_prefix)s .. thread_index .. "/"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = %(authorization)s
end

function request()
    counter = counter + 1
    local body = '{"original_url":"' .. prefix .. counter .. '"}'
    return wrk.format("POST", %(path)s, nil, body)
end

function done(summary, latency, requests)
    local total = 0
    for _, thread in ipairs(threads) do total = total + thread:get("counter") end
    io.write("bench: bodies_generated=" .. total .. "\\n")
end
"""


def lua_string(value: str) -> str:
    # A JSON string literal is a valid Lua string literal for the ASCII we use.
    return json.dumps(value, ensure_ascii=True)


def write_cycle_paths_script(directory: Path, codes_file: Path) -> Path:
    script = directory / "cycle_paths.lua"
    script.write_text(_CYCLE_PATHS % {"codes_file": lua_string(str(codes_file))})
    return script


def write_each_path_once_script(directory: Path, codes_file: Path, thread_count: int = 1) -> Path:
    script = directory / "each_path_once.lua"
    script.write_text(
        _EACH_PATH_ONCE % {"codes_file": lua_string(str(codes_file)), "thread_count": thread_count}
    )
    return script


def write_post_unique_urls_script(
    directory: Path, *, path: str, url_prefix: str, api_key: str
) -> Path:
    script = directory / "post_unique_urls.lua"
    script.write_text(
        _POST_UNIQUE_URLS
        % {
            "path": lua_string(path),
            "url_prefix": lua_string(url_prefix),
            "authorization": lua_string(f"Bearer {api_key}"),
        }
    )
    return script
