-- claims.lua: the wrk script of bench/claims.  Every request is uniquely
-- and freshly signed (Standard Webhooks, HMAC-SHA256 through LuaJIT's FFI
-- to libcrypto, as bench/ingest.lua does); the key comes from MP_SECRET.
-- MP_CLAIMS_MODE picks the stream:
--
--   preload  {"evidence": [...]} batches of 1000: MP_PRELOAD_BUILDS builds
--            (default 500000), each a BuildStartedEvent and a
--            BuildCompleted, their times spread evenly over the first half
--            of 2025, durations around 500 s.  Build i completes beside
--            the start of build i+16 (so the first 16 completions arrive
--            before their builds start and are held).  Deterministic, so
--            the ledger can be cached.  Once every batch is answered the
--            thread stops sending; bench/claims then stops wrk.
--   builds   one evidence per request: BuildStartedEvent then
--            BuildCompleted of new builds, in the current month (no time:
--            the receiver's clock).
--   ping     one Ping evidence per request, same size, that no claim
--            watches.
local ffi = require("ffi")
ffi.cdef[[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *md, const void *key, int key_len,
    const unsigned char *d, size_t n, unsigned char *out, unsigned int *outlen);
int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n);
int EVP_DecodeBlock(unsigned char *t, const unsigned char *f, int n);
]]
local crypto = ffi.load("libcrypto.so.3")

local secret = os.getenv("MP_SECRET") or error("MP_SECRET is not set")
local mode = os.getenv("MP_CLAIMS_MODE") or "builds"
local b64 = secret:gsub("^whsec_", "")
local keybuf = ffi.new("unsigned char[?]", #b64)
local keylen = crypto.EVP_DecodeBlock(keybuf, b64, #b64)
local pad = select(2, b64:gsub("=", ""))
keylen = keylen - pad

local mac = ffi.new("unsigned char[32]")
local maclen = ffi.new("unsigned int[1]")
local sig = ffi.new("unsigned char[64]")
local counter = 0
local prefix

local function sign(id, body)
	local ts = tostring(os.time())
	local content = id .. "." .. ts .. "." .. body
	crypto.HMAC(crypto.EVP_sha256(), keybuf, keylen, content, #content,
	    mac, maclen)
	local n = crypto.EVP_EncodeBlock(sig, mac, 32)
	return wrk.format("POST", "/v1/evidence", {
		["Content-Type"] = "application/json",
		["webhook-id"] = id,
		["webhook-timestamp"] = ts,
		["webhook-signature"] = "v1," .. ffi.string(sig, n),
	}, body)
end

local links_fmt = '"links":{"commit":"9fceb02d0ae598e95dc970b74767f19372d61af8",' ..
	'"branch":"main","repo":"acme/shop","service":"checkout",' ..
	'"pipeline":"https://ci.example.com/acme/shop/builds/%d"}'
local start_fmt = '{"type":"BuildStartedEvent","subject":"%s",%s' ..
	'"properties":{"buildId":"%s"},' .. links_fmt .. '}'
local done_fmt = '{"type":"BuildCompleted","subject":"%s",%s' ..
	'"properties":{"buildStatus":"%s","duration":"%ds","exitCode":%d},' ..
	links_fmt .. '}'
local ping_fmt = '{"type":"Ping","subject":"%s",' ..
	'"properties":{"buildId":"%s"},' .. links_fmt .. '}'

-- Build i of the preload: its start (Unix seconds), duration and status.
local nbuilds = tonumber(os.getenv("MP_PRELOAD_BUILDS") or "500000")
local t0 = 1735689600			-- 2025-01-01T00:00:00Z
local span = 1751328000 - t0		-- to 2025-07-01: six months
local lag = 16				-- build i completes beside i+lag's start
local function duration(i)		-- 280..720 s, peaked at 500
	return 500 + (i * 7919) % 241 - 120 + (i * 104729) % 201 - 100
end
local function status(i)
	return (i % 10 == 3) and "failure" or "success"
end
local function ts(t)
	return '"time":"' .. os.date("!%Y-%m-%dT%H:%M:%SZ", t) .. '",'
end

local per_batch = 1000
local nbatches = math.ceil(2 * nbuilds / per_batch)
local sent, answered, accepted = 0, 0, 0
local item = 0				-- preload: next item, 0 .. 2*nbuilds-1

-- Preload item k: pair p = floor(k/2): even k starts build p, odd k
-- completes build p - lag (mod nbuilds).
local function preload_item(k)
	local p = math.floor(k / 2)
	if k % 2 == 0 then
		local s = string.format("build-%07d", p)
		return string.format(start_fmt, s, ts(t0 + math.floor(p * span /
		    nbuilds)), s, p)
	end
	local i = (p - lag) % nbuilds
	local s = string.format("build-%07d", i)
	local d = duration(i)
	return string.format(done_fmt, s, ts(t0 + math.floor(i * span /
	    nbuilds) + d), status(i), d, status(i) == "failure" and 1 or 0, i)
end

function init(args)
	math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
	prefix = string.format("%08x%04x", math.random(0, 0x7fffffff),
	    math.random(0, 0xffff))
end

local verified = false
function request()
	-- wrk calls request() once first to check the request; that one is
	-- never sent, so it must not use up a batch or an evidence.
	if not verified then
		verified = true
		return wrk.format("GET", "/healthz")
	end
	if mode == "preload" then
		if sent >= nbatches then
			return wrk.format("GET", "/healthz")
		end
		sent = sent + 1
		local items = {}
		while #items < per_batch and item < 2 * nbuilds do
			items[#items + 1] = preload_item(item)
			item = item + 1
		end
		return sign(string.format("pre_%06d", sent),
		    '{"evidence":[' .. table.concat(items, ",") .. ']}')
	end
	counter = counter + 1
	local n = math.floor((counter + 1) / 2)
	local s = string.format("bb-%s-%d", prefix, n)
	local body
	if mode == "ping" then
		body = string.format(ping_fmt, s, s, counter)
	elseif counter % 2 == 1 then
		body = string.format(start_fmt, s, "", s, counter)
	else
		local d = duration(n)
		body = string.format(done_fmt, s, "", status(n), d,
		    status(n) == "failure" and 1 or 0, counter)
	end
	return sign("msg_" .. prefix .. "_" .. counter, body)
end

local codes = {}
function response(status, headers, body)
	codes[status] = (codes[status] or 0) + 1
	if mode == "preload" and status ~= 200 then
		answered = answered + 1
		if status == 202 then
			accepted = accepted + 1
		end
		if answered >= nbatches then
			wrk.thread:stop()
		end
	end
end

function done(summary, latency, requests)
	io.write(string.format("p99_ms %.3f\n", latency:percentile(99) / 1000))
	io.write(string.format("p50_ms %.3f\n", latency:percentile(50) / 1000))
	io.write(string.format("rps %.1f\n",
	    summary.requests / (summary.duration / 1e6)))
	io.write(string.format("requests %d\n", summary.requests))
	io.write(string.format("non2xx %d\n", summary.errors.status))
	io.write(string.format("socket_errors %d\n", summary.errors.connect +
	    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
