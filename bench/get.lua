-- get.lua: a wrk script for GET endpoints (bench/gates): the path from
-- GET_PATH, the bearer token from GET_TOKEN; prints what bench/ingest's
-- scripts print (p99_ms, p50_ms, rps, non2xx).
local path = os.getenv("GET_PATH") or "/healthz"
local token = os.getenv("GET_TOKEN")

function request()
	local headers = {}
	if token ~= nil then
		headers["Authorization"] = "Bearer " .. token
	end
	return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
	io.write(string.format("p99_ms %.3f\n", latency:percentile(99) / 1000))
	io.write(string.format("p50_ms %.3f\n", latency:percentile(50) / 1000))
	io.write(string.format("rps %.1f\n",
	    summary.requests / (summary.duration / 1e6)))
	io.write(string.format("non2xx %d\n", summary.errors.status))
end
